#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::test {

/// What a raw_ws_client saw until the server ended the TCP connection.
struct raw_session_end {
    boost::system::error_code error;      ///< how the last read ended (eof: orderly close)
    std::chrono::milliseconds elapsed{};  ///< time from the upgrade to the end
    std::vector<int> opcodes;             ///< opcodes of the complete frames received
};

/// One frame as the server put it on the wire.
struct raw_frame {
    bool fin = false;
    bool rsv1 = false;
    int opcode = 0;
    std::string payload;
};

/// A WebSocket peer that speaks the wire protocol by hand over a plain TCP socket: it upgrades,
/// then sends exactly the bytes a test gives it and answers nothing by itself (no pongs, no close
/// replies). It shows what the server does with a client that has gone silent, or one that sends
/// unusual (or broken) frames.
class raw_ws_client {
  public:
    explicit raw_ws_client(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Connects to 127.0.0.1:port and sends a hand-written upgrade request for `target`, plus
    /// `extra_headers` (each "Name: value"); returns the HTTP status of the answer (101 when
    /// upgraded).
    unsigned upgrade(std::uint16_t port, const std::string& target = "/ws",
                     const std::vector<std::string>& extra_headers = {});
    /// The server's answer to the upgrade: status line and headers.
    const std::string& answer() const { return answer_; }

    /// A masked client frame (RFC 6455 5.2).
    static std::string frame(int opcode, std::string_view payload, bool fin = true,
                             bool rsv1 = false);
    /// Writes `bytes` as they are.
    void send(const std::string& bytes);
    /// The next frame from the server; throws io_failure on timeout or when the connection ends.
    raw_frame read_frame();

    /// Reads (parsing server frames, answering nothing) until the server ends the connection;
    /// throws io_failure if it is still open after the timeout.
    raw_session_end read_until_closed();

  private:
    template <class Start>
    boost::system::error_code run_op(Start start);

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    std::chrono::milliseconds timeout_;
    std::string answer_;
    std::string pending_;  ///< bytes received after the HTTP answer, not yet parsed as frames
    std::chrono::steady_clock::time_point upgraded_at_;
};

}  // namespace wsgate::test
