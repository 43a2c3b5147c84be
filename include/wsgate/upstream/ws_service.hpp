#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>

#include <wsgate/upstream/service.hpp>

namespace wsgate {

/// The `websocket` transport (docs/services.md): one upstream WebSocket to the service per
/// client that uses it, opened on the client's first `send` with the client's identity in
/// signed handshake headers, closed when the client leaves. Each `send` goes up as one text
/// frame; each frame the service sends down reaches the client as a `message` (or a `reply`
/// when it names the request's id). Queues are bounded both ways, and so are the upstream
/// WebSockets: at most `max_connections` at once; a client that would need one more gets
/// `service_busy`.
class ws_service final : public service, public std::enable_shared_from_this<ws_service> {
public:
    /// Delivers a JSON text to the local client with this connection id.
    using push_function = std::function<void(const std::string& connection_id, std::string text)>;

    ws_service(boost::asio::any_io_executor ex, service_config cfg, push_function push);
    ~ws_service() override;

    void forward(client_message m, result_handler done) override;
    void client_left(const std::string& connection_id) override;
    std::size_t open_connections() const override { return *open_; }

private:
    class upstream;  // one client's upstream WebSocket

    boost::asio::any_io_executor ex_;
    push_function push_;
    std::unordered_map<std::string, std::shared_ptr<upstream>> upstreams_;  ///< by connection id
    /// Upstreams alive (connecting, open or closing), shared with them: they may outlive this.
    std::shared_ptr<std::size_t> open_ = std::make_shared<std::size_t>(0);

    friend class upstream;
};

}  // namespace wsgate
