#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>

#include "gateway_client.hpp"
#include "options.hpp"

namespace chatbot {

/// The webhook server: accepts any number of keep-alive HTTP/1.1 connections from the gateway
/// and answers every signed POST (on any path) with the bot's answer. On the same port, a signed
/// WebSocket upgrade to /ws-chat opens an upstream WebSocket (the `websocket` transport), and
/// `GET /stats` answers `{"websockets": <open upstream WebSockets>}`.
class chat_server {
  public:
    /// Binds and listens on opts.listen at once (throws boost::system::system_error).
    chat_server(boost::asio::io_context& ioc, const options& opts, gateway_client& gateway);

    /// The address actually bound (the real port when port 0 was asked for).
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    /// Starts accepting connections.
    void start() { do_accept(); }

  private:
    void do_accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
    /// After an accept error such as EMFILE: wait a little instead of spinning.
    void retry_accept_later();

    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    std::string secret_;
    gateway_client& gateway_;
    std::size_t open_websockets_ = 0;  ///< upstream WebSockets open now
};

}  // namespace chatbot
