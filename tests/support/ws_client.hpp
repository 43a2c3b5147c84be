#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_client.hpp"

namespace wsgate::test {

/// The answer to a WebSocket upgrade request.
struct handshake_result {
    bool upgraded = false;
    unsigned status = 0;  ///< HTTP status of the server's answer (101 when upgraded)
    std::string body;     ///< body of a refusal
    std::string extensions;  ///< the answer's Sec-WebSocket-Extensions
    boost::system::error_code error;
};

/// How a connection ended, as seen by a client reading until the end.
struct close_info {
    bool close_frame = false;  ///< the server sent a close frame (else the TCP connection ended)
    std::uint16_t code = 0;    ///< close code of that frame
    std::string reason;        ///< its reason text
    boost::system::error_code error;     ///< what the last read returned
    std::vector<nlohmann::json> frames;  ///< text frames read before the end
};

/// A synchronous WebSocket client over loopback, built on Beast.
///
/// Every read is bounded by the receive timeout (5 s by default): a read that times out throws
/// io_failure, so a test fails instead of hanging. The deadline is enforced by running an
/// asynchronous read on the client's own io_context, not with SO_RCVTIMEO: Asio's blocking read
/// ignores SO_RCVTIMEO (after EAGAIN it polls again without a limit). Beast answers the server's
/// pings while a read is pending. A client that should stop reading simply is not read from.
class ws_client {
  public:
    explicit ws_client(std::chrono::milliseconds receive_timeout = std::chrono::seconds(5));
    ~ws_client();
    ws_client(const ws_client&) = delete;
    ws_client& operator=(const ws_client&) = delete;

    /// Sets SO_RCVBUF before connecting (a small buffer makes a non-reading client's kernel
    /// buffers fill up sooner).
    void set_receive_buffer(int bytes) { receive_buffer_ = bytes; }
    /// Offers permessage-deflate in the handshake (before connecting); when the server accepts,
    /// Beast compresses what this client sends and inflates what it receives.
    void offer_permessage_deflate();

    /// Headers added to the upgrade request of the next connect (Origin, Authorization,
    /// X-Forwarded-For, ...).
    void set_handshake_headers(header_list headers) { handshake_headers_ = std::move(headers); }

    /// Connects from this local address instead of the default one. Linux answers on all of
    /// 127.0.0.0/8, so "127.0.0.2" looks like another client machine to the server.
    void set_local_address(std::string address) { local_address_ = std::move(address); }

    /// Connects to 127.0.0.1:port, upgrades at `target` and returns the `welcome` frame; throws
    /// io_failure when the upgrade is refused or the first frame is not a welcome.
    nlohmann::json connect(std::uint16_t port, const std::string& target = "/ws");
    /// Connects and attempts the upgrade, reporting the server's answer instead of throwing.
    handshake_result try_connect(std::uint16_t port, const std::string& target = "/ws");

    const nlohmann::json& welcome() const { return welcome_; }
    /// The Sec-WebSocket-Extensions the server answered with ("" when none).
    const std::string& extensions() const { return extensions_; }
    /// The connection id from the welcome frame.
    std::string connection_id() const;

    void send_text(const std::string& text);
    void send_binary(const std::string& bytes);
    void send_json(const nlohmann::json& message) { send_text(message.dump()); }

    /// The next text frame parsed as JSON; throws io_failure on timeout, close or bad JSON.
    nlohmann::json read_json();
    /// The next text frame exactly as the server sent it (for byte-exact checks).
    std::string read_text();
    /// Keeps a read pending for `duration` (answering pings meanwhile) and returns the frame if
    /// one arrived. If none did, the read stays pending and the next read_json() completes it.
    std::optional<nlohmann::json> poll_json_for(std::chrono::milliseconds duration);
    /// Reads frames until the connection ends (at most `max_frames` frames).
    close_info read_until_close(std::size_t max_frames = 1000000);

    /// Sends `message` with a fresh numeric id (unless it has one) and returns the next frame.
    nlohmann::json request(nlohmann::json message);
    /// Subscribes to `channel`; records a test failure unless it is acknowledged.
    void subscribe(const std::string& channel);
    /// Unsubscribes from `channel`; records a test failure unless it is acknowledged.
    void unsubscribe(const std::string& channel);
    /// Application-level ping; true when answered with a pong carrying the same id.
    bool ping();

    /// Normal close (1000) with a bounded close handshake.
    void close();
    bool is_open() const { return ws_.is_open(); }

  private:
    using stream_type = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;

    void start_read();
    /// Runs the context until the pending read completes or `timeout` passes.
    bool finish_read(std::chrono::milliseconds timeout);
    std::string take_text();
    /// Waits for the next frame (throws io_failure on timeout).
    void read_frame();
    /// The text of the read that just completed; throws io_failure on error.
    std::string completed_text();
    /// The frame of the read that just completed, as JSON; throws io_failure on error.
    nlohmann::json completed_frame();
    void require_no_pending_read(const char* operation) const;

    boost::asio::io_context ioc_;
    stream_type ws_;
    std::chrono::milliseconds timeout_;
    int receive_buffer_ = 0;
    header_list handshake_headers_;
    std::string local_address_;
    boost::beast::flat_buffer buffer_;
    bool read_pending_ = false;
    std::optional<boost::system::error_code> read_result_;
    nlohmann::json welcome_;
    std::string extensions_;
    long long next_id_ = 1;
};

/// Connects each of `clients` to 127.0.0.1:port at /ws, one after the other.
void connect_all(std::uint16_t port, std::initializer_list<ws_client*> clients);

/// `count` clients connected to 127.0.0.1:port one after the other, each subscribed to
/// `channel` right after it connects (unless `channel` is empty).
std::vector<std::unique_ptr<ws_client>> connect_clients(std::uint16_t port, int count,
                                                        const std::string& channel = "");

/// The clients as plain pointers (for expect_marker_next()).
std::vector<ws_client*> client_pointers(const std::vector<std::unique_ptr<ws_client>>& clients);

}  // namespace wsgate::test
