#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/container/static_vector.hpp>

#include <wsgate/metrics/metrics.hpp>
#include <wsgate/protocol/frame.hpp>
#include <wsgate/session/detail/flush_queue.hpp>
#include <wsgate/tls/tls_engine.hpp>

namespace wsgate {

/// The only writer of a client connection's socket.
///
/// Everything the server sends goes through one queue of pre-built frames: the HTTP answer to
/// the upgrade, the session's events and replies (shared by every subscriber, never copied),
/// pongs, pings and the close frame. The queue leaves in gather writes: everything queued during
/// one turn of the event loop (or while the socket was not writable) goes out in one system
/// call, each frame still its own WebSocket message on the wire.
///
/// Writes are synchronous on a non-blocking socket, made at the end of the loop's turn by the
/// io_context's flush_queue for every transport with something queued: a fan-out to a thousand
/// connections costs a thousand sendmsg() calls and one posted handler, no asynchronous
/// operation per connection. Only a socket whose buffer is full waits for writability.
/// The socket is put in non-blocking mode; its owner may read it (never blocking) but must not
/// write it.
///
/// Over TLS (wss), the transport also owns the connection's tls_engine: the queue is encrypted
/// as one stream (frames share TLS records) just before it is written, at most
/// `tls_write_ahead` bytes of ciphertext ahead of the socket, so a slow reader holds frames
/// shared with other connections rather than private ciphertext; read_some() decrypts.
///
/// The close frame is the last thing queued (nothing may follow it, RFC 6455 5.5.1), and
/// async_flush_and_close() ends a connection gracefully: the queue is written, the socket shut
/// down for sending, and its input drained until the peer closes too.
class ws_transport {
public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;

    /// `tls`: the connection's TLS state after its handshake (wss), or null (ws).
    ws_transport(socket_type socket, metrics& counters, std::unique_ptr<tls_engine> tls = nullptr);
    ~ws_transport();

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    /// For waiting until the socket is readable (the session reads through read_some()).
    socket_type& socket() noexcept { return socket_; }

    /// Reads what the connection has, never blocking: the bytes (plaintext over TLS), or 0 with
    /// `ec` set (would_block when there is nothing now, eof when the peer closed, a TLS error).
    std::size_t read_some(boost::asio::mutable_buffer buffer, boost::beast::error_code& ec);
    /// Input already received (and decrypted) that read_some() returns without the socket
    /// becoming readable again: what unread() put back, and over TLS what the engine holds.
    bool has_buffered_input() const noexcept;
    /// Bytes of the connection that were read before the transport took it (what the HTTP
    /// reader buffered beyond the upgrade request: the client's first frames, plaintext over
    /// TLS): read_some() returns them before anything else.
    void unread(std::string_view bytes);

    /// The object whose lifetime covers this transport (its session). Pending writes keep it
    /// alive. Must be set before the first write.
    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

    /// Queues a frame; it is written on the next turn of the event loop at the latest.
    /// Ignored once the close frame was queued.
    void send(frame_ptr frame);
    /// Queues the close frame: after it, send() queues nothing.
    void send_close(frame_ptr frame);
    bool close_queued() const noexcept { return close_queued_; }
    /// Bytes queued and not yet written (frames, and ciphertext over TLS).
    std::size_t queued_bytes() const noexcept;
    /// Drops every queued frame that is not already (partly) on the wire.
    void discard_queued();

    /// Completes `handler(error_code)` once the queue is written and the socket closed
    /// gracefully: shut down for sending, then input drained until the peer closes too (a
    /// close with unread input would reset the connection and could lose the close frame).
    /// Nothing may read the socket meanwhile.
    template <class Handler>
    void async_flush_and_close(Handler&& handler) {
        auto h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
        on_flushed_ = [h](boost::beast::error_code ec) { (*h)(ec); };
        if (!write_waiting_) write_now();
    }

    /// Closes the socket at once, dropping whatever is queued: pending operations on it
    /// complete with operation_aborted.
    void close_now();

private:
    friend class detail::flush_queue;

    void push(frame_ptr frame);
    /// Writes until the queue is empty or the socket is full (then waits for writability).
    void write_now();
    // Buffers per gather write; Linux's sendmsg takes up to 1024, Asio passes at most 64.
    static constexpr std::size_t max_gather = 64;
    using buffer_list = boost::container::static_vector<boost::asio::const_buffer, max_gather>;
    /// Buffers for the frames at the front of the queue (as many as fit); `offered` is set to
    /// their bytes.
    void gather(buffer_list& out, std::size_t& offered) const;
    /// `n` bytes of the queue's front left (written, or encrypted): drops the frames done.
    void consume(std::size_t n);
    /// One write of the queue (plain) or of ciphertext (TLS). False when writing must stop:
    /// the socket is full (now waiting for writability) or failed.
    bool write_plain_queue();
    bool write_tls();
    /// One gather write; false (after waiting or failing) when it wrote nothing.
    bool write_socket(const buffer_list& buffers, std::size_t& written);
    void wait_writable();
    void fail_write(boost::beast::error_code ec);
    void finish_close(boost::beast::error_code ec);
    void drain_input();
    void complete_close(boost::beast::error_code ec);

    socket_type socket_;
    std::unique_ptr<tls_engine> tls_;  // null: plain ws
    metrics& counters_;
    detail::flush_queue& flushes_;
    std::weak_ptr<void> owner_;
    std::vector<frame_ptr> queue_;
    std::size_t front_offset_ = 0;  // bytes of queue_.front() already written
    std::size_t queued_bytes_ = 0;
    std::uint32_t flush_slot_ = detail::flush_queue::none;  // place in flushes_, if scheduled
    bool write_waiting_ = false;  // the socket was full: waiting for writability
    bool close_queued_ = false;
    boost::beast::error_code write_error_;
    std::function<void(boost::beast::error_code)> on_flushed_;
    struct linger_state;  // only while closing, so idle connections do not pay for it
    std::unique_ptr<linger_state> linger_;
    std::unique_ptr<std::string> unread_;  // see unread(); null once read
};

}  // namespace wsgate
