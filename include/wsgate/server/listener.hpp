#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <wsgate/api/rest_api.hpp>
#include <wsgate/app/shared_state.hpp>

namespace wsgate {

class tls_context;

/// Accepts TCP connections on one endpoint and gives each to an http_session: plain, or TLS
/// with the certificate `tls` holds at the time of the accept.
class listener : public std::enable_shared_from_this<listener> {
public:
    /// Binds and listens; throws boost::system::system_error when it cannot. `tls` null: plain
    /// HTTP and WebSocket.
    listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
             std::shared_ptr<shared_state> state, listener_role role,
             std::shared_ptr<const tls_context> tls = nullptr);

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void start() { do_accept(); }
    /// Stops accepting; connections already accepted are not affected.
    void stop();

private:
    void do_accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    std::shared_ptr<shared_state> state_;
    listener_role role_;
    std::shared_ptr<const tls_context> tls_;
};

}  // namespace wsgate
