#pragma once

#include <wsgate/tls/tls_engine.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace wsgate {

namespace detail {
/// Where every tls_stream of the thread reads its socket before feeding the engine: a
/// connection waiting for input holds no read buffer of its own.
boost::asio::mutable_buffer tls_read_scratch() noexcept;
}  // namespace detail

/// A TLS stream for Beast's HTTP code: an AsyncReadStream and AsyncWriteStream over a TCP
/// socket and a tls_engine. Reads wait for the socket to be readable, read it (non-blocking)
/// into a per-thread buffer and feed the engine; writes encrypt what they are given (up to
/// 64 KiB per call) and complete once the ciphertext is on the wire. release() hands the socket
/// and the engine, TLS state intact, to whoever serves the connection next (the WebSocket
/// layer after an upgrade).
///
/// Single-threaded: at most one read and one write (or handshake, or shutdown) at a time, as
/// Asio's streams allow. Ciphertext has one writer at a time: a read (or handshake) whose input
/// asks for an answer (an alert, a KeyUpdate) writes it only when nothing else is writing,
/// otherwise the writer takes it along; a write that finds a flush writing waits for it. The
/// stream must outlive its operations (hold it in the session that shared_from_this() keeps
/// alive). No timeouts: the owner closes the socket from a timer. The socket is switched to
/// non-blocking mode.
class tls_stream {
  public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;
    using next_layer_type = socket_type;
    using error_code = boost::system::error_code;

    tls_stream(socket_type socket, tls_engine engine);

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    socket_type& next_layer() noexcept { return socket_; }
    const socket_type& next_layer() const noexcept { return socket_; }
    tls_engine& engine() noexcept { return engine_; }
    const tls_engine& engine() const noexcept { return engine_; }

    struct released {
        socket_type socket;
        tls_engine engine;
    };
    /// Gives up the socket and the engine (with any plaintext already received and not read,
    /// and any ciphertext not yet written). No operation may be pending; the stream is
    /// useless afterwards.
    released release() { return released{std::move(socket_), std::move(engine_)}; }

    /// Runs the handshake (either role): completes `handler(error_code)` once it is done and
    /// its last flight written. Errors: tls_errc (see engine().error_message()), socket errors,
    /// net::error::eof when the peer left.
    template <class HandshakeHandler>
    auto async_handshake(HandshakeHandler&& handler) {
        return boost::asio::async_compose<HandshakeHandler, void(error_code)>(handshake_op{*this},
                                                                              handler, socket_);
    }

    /// Reads plaintext; net::error::eof once the peer sent close_notify or closed the TCP
    /// connection (HTTP's own framing tells a whole message from a cut one).
    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        return boost::asio::async_compose<ReadHandler, void(error_code, std::size_t)>(
            read_op<MutableBufferSequence>{*this, buffers}, handler, socket_);
    }

    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        return boost::asio::async_compose<WriteHandler, void(error_code, std::size_t)>(
            write_op<ConstBufferSequence>{*this, buffers}, handler, socket_);
    }

    /// Sends close_notify, then shuts the socket down for sending. Does not wait for the
    /// peer's close_notify (read until eof for that).
    template <class ShutdownHandler>
    auto async_shutdown(ShutdownHandler&& handler) {
        return boost::asio::async_compose<ShutdownHandler, void(error_code)>(shutdown_op{*this},
                                                                             handler, socket_);
    }

  private:
    static constexpr std::size_t max_write_some = 64 * 1024;

    // What every operation shares: complete at once without invoking the handler inside the
    // initiating function (post it), and which step resumed the operation.
    enum class step { start, flushed, readable, wrote, waited, done };

    template <class Self, class... Args>
    void finish(Self& self, step& at, bool& async, Args... args) {
        if (async) return self.complete(args...);
        at = step::done;
        async = true;
        boost::asio::post(get_executor(),
                          boost::beast::bind_front_handler(std::move(self), args...));
    }

    /// Reads what the socket has into the engine. False when nothing was read (`ec` set on
    /// end of input or an error, clear when the socket had nothing after all).
    bool read_socket(error_code& ec);

    /// Whether a write or shutdown must flush: there is output and writing can still work.
    bool must_flush() const noexcept { return engine_.pending_ciphertext() > 0 && !write_error_; }
    /// Whether a handshake or read must flush what the input asked for. Not while a flush is
    /// writing: that one writes such unclaimed output too, and a read does not wait behind a
    /// long write.
    bool must_answer() const noexcept { return must_flush() && !writing_; }

    // Writes the engine's ciphertext, at least up to what was queued when the flush started
    // (gather writes of its chunks). One flush writes at a time; another waits on flush_wait_
    // until the writer reaches its own target and hands over. A writer with nobody waiting
    // writes on until the output is empty, so output a read queued during a write goes too.
    // Ciphertext is FIFO: a waiting flush never needs less than the one writing.
    struct flush_op {
        tls_stream& s;
        std::uint64_t target = 0;  // position in the ciphertext stream this flush waits for
        step at = step::start;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
            switch (at) {
                case step::start:
                    target = s.flushed_ + s.engine_.pending_ciphertext();
                    break;
                case step::wrote:
                    s.writing_ = false;
                    if (ec) {
                        s.write_error_ = ec;
                        s.flush_wait_.cancel();
                        return self.complete(ec);
                    }
                    s.engine_.consume_ciphertext(n);
                    s.flushed_ += n;
                    break;
                default:  // waited: the writer stopped, or another flush began to wait
                    --s.waiters_;
                    break;
            }
            if (s.write_error_) return self.complete(s.write_error_);
            const bool mine_done = s.flushed_ >= target;
            if (mine_done && (s.waiters_ > 0 || s.engine_.pending_ciphertext() == 0)) {
                s.flush_wait_.cancel();  // the next flush writes the rest
                return self.complete(error_code{});
            }
            if (s.writing_) {
                if (mine_done) return self.complete(error_code{});
                at = step::waited;
                ++s.waiters_;  // flush_wait_ never expires: only cancel() wakes
                return s.flush_wait_.async_wait(std::move(self));
            }
            s.writing_ = true;
            at = step::wrote;
            std::array<boost::asio::const_buffer, 16> chunks{};
            s.engine_.ciphertext_buffers(chunks.data(), chunks.size());
            s.socket_.async_write_some(chunks, std::move(self));
        }
    };

    // Callers only flush with output pending and no write error, so a flush never completes
    // inside its initiating function.
    template <class Handler>
    void async_flush(Handler&& handler) {
        boost::asio::async_compose<Handler, void(error_code)>(flush_op{*this}, handler, socket_);
    }

    struct handshake_op {
        tls_stream& s;
        step at = step::start;
        bool async = false;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t = 0) {
            switch (at) {
                case step::start:
                    s.engine_.start();
                    break;
                case step::flushed:
                    if (ec && s.engine_.state() != tls_state::failed)
                        return s.finish(self, at, async, ec);
                    break;
                case step::readable:
                    if (ec || (!s.read_socket(ec) && ec)) return s.finish(self, at, async, ec);
                    break;
                case step::done:
                    return self.complete(ec);
                default:
                    break;
            }
            if (s.must_answer()) {
                at = step::flushed;
                async = true;
                return s.async_flush(std::move(self));
            }
            if (s.engine_.state() == tls_state::failed)
                return s.finish(self, at, async, s.engine_.error());
            if (s.engine_.handshake_done()) return s.finish(self, at, async, error_code{});
            at = step::readable;
            async = true;
            s.socket_.async_wait(socket_type::wait_read, std::move(self));
        }
    };

    template <class MutableBufferSequence>
    struct read_op {
        tls_stream& s;
        MutableBufferSequence buffers;
        step at = step::start;
        bool async = false;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
            switch (at) {
                case step::flushed:
                    if (ec && s.engine_.state() != tls_state::failed)
                        return s.finish(self, at, async, ec, std::size_t{0});
                    break;
                case step::readable:
                    if (ec || (!s.read_socket(ec) && ec))
                        return s.finish(self, at, async, ec, std::size_t{0});
                    break;
                case step::done:
                    return self.complete(ec, n);
                default:
                    break;
            }
            if (boost::asio::buffer_size(buffers) == 0)
                return s.finish(self, at, async, error_code{}, std::size_t{0});
            const std::size_t got = s.engine_.read_plain_into(buffers);
            if (got > 0) return s.finish(self, at, async, error_code{}, got);
            // Output the input asked for (handshake flights when no async_handshake ran, a
            // key update's answer, an alert) leaves before this read waits or fails.
            if (s.must_answer()) {
                at = step::flushed;
                async = true;
                return s.async_flush(std::move(self));
            }
            switch (s.engine_.state()) {
                case tls_state::closed:
                    return s.finish(self, at, async, error_code{boost::asio::error::eof},
                                    std::size_t{0});
                case tls_state::failed:
                    return s.finish(self, at, async, s.engine_.error(), std::size_t{0});
                default:
                    break;
            }
            at = step::readable;
            async = true;
            s.socket_.async_wait(socket_type::wait_read, std::move(self));
        }
    };

    template <class ConstBufferSequence>
    struct write_op {
        tls_stream& s;
        ConstBufferSequence buffers;
        step at = step::start;
        bool async = false;
        std::size_t taken = 0;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
            switch (at) {
                case step::start:
                    break;
                case step::flushed:
                    return s.finish(self, at, async, ec, ec ? std::size_t{0} : taken);
                default:  // done
                    return self.complete(ec, n);
            }
            if (s.write_error_) return s.finish(self, at, async, s.write_error_, std::size_t{0});
            if (boost::asio::buffer_size(buffers) == 0)
                return s.finish(self, at, async, error_code{}, std::size_t{0});
            taken = s.engine_.write_plain_from(buffers, max_write_some);
            if (taken == 0) {
                const error_code why = s.engine_.state() == tls_state::failed
                                           ? s.engine_.error()
                                           : error_code{tls_errc::not_open};
                return s.finish(self, at, async, why, std::size_t{0});
            }
            at = step::flushed;
            async = true;
            s.async_flush(std::move(self));
        }
    };

    struct shutdown_op {
        tls_stream& s;
        step at = step::start;
        bool async = false;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t = 0) {
            switch (at) {
                case step::start:
                    s.engine_.shutdown();
                    if (s.must_flush()) {
                        at = step::flushed;
                        async = true;
                        return s.async_flush(std::move(self));
                    }
                    break;
                case step::done:
                    return self.complete(ec);
                default:
                    break;
            }
            error_code ignored;
            s.socket_.shutdown(socket_type::shutdown_send, ignored);
            s.finish(self, at, async, ec ? ec : s.write_error_);
        }
    };

    socket_type socket_;
    tls_engine engine_;
    boost::asio::steady_timer flush_wait_;
    bool writing_ = false;
    std::uint64_t flushed_ = 0;  // ciphertext bytes written so far
    std::size_t waiters_ = 0;    // flushes waiting on flush_wait_
    error_code write_error_;
};

/// Beast's teardown customization point (a websocket::stream<tls_stream> closing): close_notify,
/// then the socket shut down for sending.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type, tls_stream& stream, TeardownHandler&& handler) {
    stream.async_shutdown(std::forward<TeardownHandler>(handler));
}

}  // namespace wsgate
