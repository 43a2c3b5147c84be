#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.hpp"

namespace wsgate::test {

/// A plain TCP connection to 127.0.0.1 for byte-level attacks: the test decides every byte
/// that goes out and when (an HTTP request one byte at a time, a frame header announcing more
/// than will ever be sent, a flood of hand-built frames), and sees every byte that comes back.
///
/// The socket is non-blocking; every wait is bounded by the timeout given to it, so a test
/// fails instead of hanging. Nothing is answered automatically (no pongs, no close replies).
/// Not thread-safe: one thread uses one raw_socket.
class raw_socket {
  public:
    /// Connects to 127.0.0.1:port, from `local_address` when given (on Linux any 127.x.y.z
    /// works, so "127.0.0.2" looks like another client machine to the server). Throws
    /// io_failure when the connection fails within `timeout`.
    explicit raw_socket(std::uint16_t port, const std::string& local_address = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// A small receive buffer, set before connecting (SO_RCVBUF, which the kernel doubles): a
    /// client that does not read then holds little, and what the server sends it stays queued
    /// in the server. Set after the handshake, a buffer smaller than the loopback MSS (64 KiB)
    /// makes the kernel drop whole segments, and their ACKs with them: both ends then stall for
    /// seconds in retransmission backoff, whatever the server does.
    struct receive_buffer {
        int bytes;
    };
    raw_socket(std::uint16_t port, receive_buffer buffer);
    ~raw_socket();
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;

    /// Writes all of `bytes`, waiting up to `timeout` for room in the socket buffer. False when
    /// a write failed (see write_failed()) or the time ran out before everything was written.
    bool send_all(std::string_view bytes,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Writes what the kernel takes right now, without waiting: the number of bytes written
    /// (0 when the buffer is full or a write has failed).
    std::size_t send_some(std::string_view bytes);

    /// Waits up to `wait` for input, then appends everything available to received(). Returns
    /// false once the input has ended (the peer's FIN, or a reset).
    bool poll_input(std::chrono::milliseconds wait);
    /// poll_input() until `done()` is true, the input ends or `timeout` passes; returns done().
    bool receive_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
    /// Reads (keeping what arrives) until the input ends; true when it did within `timeout`.
    bool wait_input_end(std::chrono::milliseconds timeout);

    /// Everything received and not yet taken (take_http_head(), take_frames()).
    std::string& received() { return received_; }
    /// True once a read saw the end of the input: the peer's FIN (it may still read: a half
    /// close) or a reset.
    bool input_ended() const { return input_ended_; }
    /// True once a write failed: the peer has closed the connection (EPIPE, ECONNRESET).
    bool write_failed() const { return write_failed_; }
    /// The errno of the read or write that failed first, 0 when none did (an orderly FIN is no
    /// failure).
    int error() const { return error_; }
    /// "open", "eof", or the text of error().
    std::string end_description() const;
    /// Total bytes written so far.
    std::uint64_t bytes_sent() const { return bytes_sent_; }

  private:
    void connect(std::uint16_t port, const std::string& local_address,
                 std::chrono::milliseconds timeout, int receive_bytes);
    void failed(int error);

    int fd_ = -1;
    std::string received_;
    bool input_ended_ = false;
    bool write_failed_ = false;
    int error_ = 0;
    std::uint64_t bytes_sent_ = 0;
};

/// A hand-written WebSocket upgrade request for `target` (Host 127.0.0.1:port), with `headers`.
std::string upgrade_request(std::uint16_t port, const std::string& target = "/ws",
                            const header_list& headers = {});

/// When `bytes` starts with a complete HTTP response head: its status code. The head is removed
/// from `bytes` (into `*head` when given); what follows it (a body, frames) stays.
std::optional<unsigned> take_http_head(std::string& bytes, std::string* head = nullptr);

/// Sends upgrade_request() on `socket` and reads the answer's head: its status (101 when
/// upgraded); frames or a body that followed stay in socket.received(). Throws io_failure when
/// no complete head arrives within `timeout`.
unsigned raw_upgrade(raw_socket& socket, std::uint16_t port, const std::string& target = "/ws",
                     const header_list& headers = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// WebSocket opcodes (RFC 6455 5.2).
namespace opcode {
inline constexpr std::uint8_t continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9,
                              pong = 0xa;
}

/// A client frame, masked as RFC 6455 requires of clients.
std::string client_frame(std::uint8_t op, std::string_view payload, bool fin = true);
/// Only the header of a client frame announcing `length` payload bytes, masked with the all-zero
/// key: the payload bytes then follow unchanged, in as many writes as the test likes.
std::string client_frame_header(std::uint8_t op, std::uint64_t length, bool fin = true);

/// One frame received from the server.
struct wire_frame {
    std::uint8_t op = 0;
    bool fin = true;
    std::string payload;

    /// For a close frame: its status code (0 when the frame has none) and reason text.
    std::uint16_t close_code() const;
    std::string close_reason() const;
};

/// Removes the complete frames at the start of `bytes` and returns them.
std::vector<wire_frame> take_frames(std::string& bytes);

}  // namespace wsgate::test
