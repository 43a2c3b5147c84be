#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "http_client.hpp"

namespace wsgate::test {

/// A TLS client for wsgate's wss:// and https:// listeners, built on Asio's OpenSSL stream (not
/// on wsgate's own TLS code, so the two check each other). It trusts exactly the CA file given
/// and checks the server's name "localhost". Every step is bounded by the timeout: a step that
/// fails or times out throws io_failure.
class wss_client {
  public:
    explicit wss_client(const std::string& ca_file,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~wss_client();
    wss_client(const wss_client&) = delete;
    wss_client& operator=(const wss_client&) = delete;

    /// Sets SO_RCVBUF before connecting.
    void set_receive_buffer(int bytes) { receive_buffer_ = bytes; }

    /// TCP connect and TLS handshake to 127.0.0.1:port.
    void connect_tls(std::uint16_t port);
    /// connect_tls(), the WebSocket upgrade at `target`, and the welcome frame (returned).
    nlohmann::json connect(std::uint16_t port, const std::string& target = "/ws");

    void send_json(const nlohmann::json& message);
    /// The next text frame as JSON.
    nlohmann::json read_json();
    /// Subscribes to `channel` and checks the acknowledgement.
    void subscribe(const std::string& channel);
    /// Reads (dropping frames) until the connection ends: the close code the server sent, or 0
    /// when it ended without a close frame. At most `max_frames` frames.
    std::uint16_t read_until_close(std::size_t max_frames = 100000);
    /// Normal close (1000) with the close handshake.
    void close();

    /// The common name in the certificate the server presented.
    std::string peer_common_name() const;
    /// The TLS version negotiated ("TLSv1.3").
    std::string protocol() const;

    /// One HTTP/1.1 request over a new TLS connection (Connection: close).
    static http_response request(std::uint16_t port, const std::string& ca_file,
                                 const std::string& method, const std::string& target,
                                 const std::string& body = {}, const header_list& headers = {});

  private:
    using tls_socket = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

    boost::asio::io_context ioc_;
    boost::asio::ssl::context ctx_;
    boost::beast::websocket::stream<tls_socket> ws_;
    std::chrono::milliseconds timeout_;
    int receive_buffer_ = 0;
    boost::beast::flat_buffer buffer_;
    long long next_id_ = 1;
};

}  // namespace wsgate::test
