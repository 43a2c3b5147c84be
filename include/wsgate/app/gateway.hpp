#pragma once

#include <memory>
#include <functional>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <wsgate/app/shared_state.hpp>
#include <wsgate/bus/bus.hpp>
#include <wsgate/server/listener.hpp>

namespace wsgate {

namespace history {
class stream_repair;
}
class redis_bus;
class tls_context;

/// One wsgate process: listeners, bus, hub and signal handling on one io_context.
/// Data flows one way: REST ingest → bus → (every instance's) bus → hub → sessions.
class gateway {
public:
    /// Reads the TLS files (throws config_error when they do not load) and binds the listeners
    /// (throws boost::system::system_error when it cannot).
    gateway(boost::asio::io_context& ioc, config cfg);
    ~gateway();

    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    /// Starts accepting and handling SIGTERM/SIGINT (shutdown) and SIGHUP (TLS reload).
    void start();
    /// Begins the graceful shutdown (what SIGTERM does); ioc.run() returns when it is done.
    void shutdown();

    boost::asio::ip::tcp::endpoint public_endpoint() const { return public_->local_endpoint(); }
    boost::asio::ip::tcp::endpoint api_endpoint() const {
        return (api_ ? api_ : public_)->local_endpoint();
    }

private:
    std::shared_ptr<service> make_service(boost::asio::io_context& ioc, const service_config& cfg,
                                          const std::shared_ptr<redis_bus>& redis);
    void on_bus_message(const envelope& e);
    /// Hands `e` to the hub, serialized once for every recipient.
    void dispatch(const envelope& e);
    /// With Redis: the repair of channel streams between the bus and the hub.
    void start_stream_repair(redis_bus& redis);
    /// True when the stream of bus topic `topic` keeps history: a channel's by its rule, a
    /// user's by history.user_size.
    bool keeps_history(const std::string& topic) const;
    void watch_drain();
    void wait_for_reload_signal();
    /// Reads the TLS certificate and key again for new connections (open ones keep theirs).
    void reload_tls();

    boost::asio::io_context& ioc_;
    std::shared_ptr<shared_state> state_;
    std::shared_ptr<bus> bus_;  ///< redis_bus when redis.url is set, else local_bus
    std::shared_ptr<history::stream_repair> repair_;  ///< with Redis only
    std::function<void()> start_bus_;
    std::shared_ptr<tls_context> tls_;  ///< null unless tls.cert_file is set
    std::shared_ptr<listener> public_;
    std::shared_ptr<listener> api_;  ///< null unless server.api_listen is set
    boost::asio::signal_set signals_;
    boost::asio::signal_set reload_signals_;  ///< SIGHUP
    boost::asio::steady_timer drain_timer_;
    std::chrono::steady_clock::time_point drain_deadline_;
    std::mt19937 random_;
};

}  // namespace wsgate
