#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::test {

/// What a raw_ws_client saw until the server ended the TCP connection.
struct raw_session_end {
    boost::system::error_code error;      ///< how the last read ended (eof: orderly close)
    std::chrono::milliseconds elapsed{};  ///< time from the upgrade to the end
    std::vector<int> opcodes;             ///< opcodes of the complete frames received
};

/// A WebSocket peer that speaks the wire protocol by hand over a plain TCP socket: it upgrades,
/// then only reads and never answers anything (no pongs, no close replies). It shows what the
/// server does with a client that has gone silent.
class raw_ws_client {
  public:
    explicit raw_ws_client(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Connects to 127.0.0.1:port and sends a hand-written upgrade request for `target`;
    /// returns the HTTP status of the answer (101 when upgraded).
    unsigned upgrade(std::uint16_t port, const std::string& target = "/ws");

    /// Reads (parsing server frames, answering nothing) until the server ends the connection;
    /// throws io_failure if it is still open after the timeout.
    raw_session_end read_until_closed();

  private:
    template <class Start>
    boost::system::error_code run_op(Start start);

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    std::chrono::milliseconds timeout_;
    std::string pending_;  ///< bytes received after the HTTP answer, not yet parsed as frames
    std::chrono::steady_clock::time_point upgraded_at_;
};

}  // namespace wsgate::test
