#pragma once

#include <functional>
#include <optional>
#include <string>

#include <wsgate/config/config.hpp>
#include <wsgate/protocol/client_message.hpp>

namespace wsgate {

/// One client message on its way to a service.
struct client_message {
    std::string connection_id;
    std::string user;               ///< empty: anonymous
    std::optional<std::string> id;  ///< the client's request id, as JSON text
    std::string data;               ///< JSON text
};

/// What became of a client message.
struct service_result {
    enum class outcome { accepted, replied, failed };
    outcome what = outcome::accepted;
    std::string reply;  ///< replied: the service's answer, as JSON text
    protocol::client_error error = protocol::client_error::service_unavailable;  ///< failed
    std::string message;  ///< failed: for humans
    bool too_deep = false;  ///< failed: the answer nested deeper than limits.json_max_depth

    static service_result failed(protocol::client_error code, std::string why) {
        service_result r;
        r.what = outcome::failed;
        r.error = code;
        r.message = std::move(why);
        return r;
    }
};

/// A backend service clients can send to, whatever carries the messages.
class service {
public:
    using result_handler = std::function<void(service_result)>;

    explicit service(service_config cfg) : cfg_(std::move(cfg)) {}
    virtual ~service() = default;

    /// Hands `m` to the service; `done` runs exactly once, never inside this call.
    virtual void forward(client_message m, result_handler done) = 0;
    /// The client with this connection id is gone: drop what the service holds for it.
    virtual void client_left(const std::string& /*connection_id*/) {}
    /// Connections open to the service now (the wsgate_service_connections gauge).
    virtual std::size_t open_connections() const { return 0; }
    const service_config& config() const { return cfg_; }

protected:
    service_config cfg_;
};

}  // namespace wsgate
