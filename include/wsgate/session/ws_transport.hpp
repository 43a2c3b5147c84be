#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <wsgate/metrics/metrics.hpp>
#include <wsgate/protocol/frame.hpp>

namespace wsgate {

/// The next layer under `beast::websocket::stream`, and the only writer of its socket.
///
/// Reads go straight to the socket. Writes of both kinds share one queue: the session's
/// pre-built frames (send(), shared by every subscriber, never copied) and whatever Beast writes
/// itself (the 101 response, pongs, pings, close frames: copied, they are rare and small). The
/// queue leaves in gather writes: everything queued while a write is in flight, or during one
/// turn of the event loop, goes out in one system call. Beast's writes complete at once, so
/// Beast never holds a write open and the session alone decides what is queued.
///
/// Beast's close handshake ends in async_teardown(), which waits until the queue is flushed
/// before it shuts the socket down: a close frame always follows the frames queued before it.
class ws_transport {
public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;
    using socket_type = boost::asio::ip::tcp::socket;

    ws_transport(socket_type socket, metrics& counters);
    ~ws_transport();

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    socket_type& next_layer() noexcept { return socket_; }
    const socket_type& next_layer() const noexcept { return socket_; }

    /// The object whose lifetime covers this transport (its session). Pending writes keep it
    /// alive. Must be set before the first write.
    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

    /// Queues a frame; it is written on the next turn of the event loop at the latest.
    /// Ignored once a close frame was queued: nothing may follow it (RFC 6455 5.5.1).
    void send(frame_ptr frame);
    /// Bytes queued and not yet written.
    std::size_t queued_bytes() const noexcept { return queued_bytes_; }
    /// Drops every queued frame that is not already (partly) on the wire.
    void discard_queued();

    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        return socket_.async_read_some(buffers, std::forward<ReadHandler>(handler));
    }

    /// For Beast: copies the bytes into the queue and completes at once.
    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        return boost::asio::async_initiate<WriteHandler, void(boost::beast::error_code,
                                                              std::size_t)>(
            [this](auto h, const ConstBufferSequence& b) {
                const boost::beast::error_code ec = write_error_;
                std::size_t n = 0;
                if (!ec) {
                    n = boost::asio::buffer_size(b);
                    auto copy = std::make_shared<std::string>();
                    copy->reserve(n);
                    for (auto buf : boost::beast::buffers_range_ref(b))
                        copy->append(static_cast<const char*>(buf.data()), buf.size());
                    // Beast writes whole frames (or the HTTP 101 response, which starts with
                    // 'H'): 0x88 is FIN plus the close opcode.
                    if (!copy->empty() && static_cast<unsigned char>((*copy)[0]) == 0x88)
                        close_queued_ = true;
                    push(std::move(copy));
                }
                boost::asio::post(get_executor(),
                                  boost::beast::bind_front_handler(std::move(h), ec, n));
            },
            handler, buffers);
    }

    /// Completes `handler(error_code)` once the queue is written and the socket closed
    /// gracefully: shut down for sending, then input drained until the peer closes too (a
    /// close with unread input would reset the connection and could lose the close frame).
    template <class Handler>
    void async_flush_and_close(Handler&& handler) {
        auto h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
        on_flushed_ = [h](boost::beast::error_code ec) { (*h)(ec); };
        write_queued();
    }

private:
    void push(frame_ptr frame);
    void schedule_flush();
    void write_queued();
    void on_write(boost::beast::error_code ec, std::size_t n);
    void finish_close(boost::beast::error_code ec);
    void drain_input();
    void complete_close(boost::beast::error_code ec);

    socket_type socket_;
    metrics& counters_;
    std::weak_ptr<void> owner_;
    std::vector<frame_ptr> queue_;
    std::size_t front_offset_ = 0;  // bytes of queue_.front() already written
    std::size_t queued_bytes_ = 0;
    std::size_t in_flight_ = 0;     // frames referenced by the write in flight
    bool flush_posted_ = false;
    bool close_queued_ = false;
    boost::beast::error_code write_error_;
    std::function<void(boost::beast::error_code)> on_flushed_;
    struct linger_state;  // only while closing, so idle connections do not pay for it
    std::unique_ptr<linger_state> linger_;
};

/// Beast's teardown customization point for ws_transport (found by argument-dependent lookup).
template <class TeardownHandler>
void async_teardown(boost::beast::role_type, ws_transport& transport, TeardownHandler&& handler) {
    transport.async_flush_and_close(std::forward<TeardownHandler>(handler));
}

}  // namespace wsgate
