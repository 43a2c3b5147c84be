#include <wsgate/session/ws_transport.hpp>

#include <wsgate/session/queue_budget.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>

#include <wsgate/tls/tls_engine.hpp>
#include <wsgate/tls/tls_stream.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstring>

namespace wsgate {

namespace net = boost::asio;

namespace {
// Queue entries kept allocated while the queue is empty (more is released after a burst).
constexpr std::size_t queue_keep = 4;
// How long a closing connection waits for the peer's FIN.
constexpr std::chrono::seconds linger_time{2};
// Over TLS: ciphertext made ahead of what the socket took, at most.
constexpr std::size_t tls_write_ahead = queue_budget::tls_write_ahead;
}  // namespace

namespace beast = boost::beast;

struct ws_transport::linger_state {
    explicit linger_state(const executor_type& ex) : timer(ex) {}
    net::steady_timer timer;
    std::array<char, 1024> discard{};
};

ws_transport::ws_transport(socket_type socket, metrics& counters, std::unique_ptr<tls_engine> tls)
    : socket_(std::move(socket)),
      tls_(std::move(tls)),
      counters_(counters),
      flushes_(net::use_service<detail::flush_queue>(
          net::query(socket_.get_executor(), net::execution::context))) {
    // Writes (and the owner's reads) must never block the thread.
    boost::beast::error_code ignored;
    socket_.non_blocking(true, ignored);
}

ws_transport::~ws_transport() { flushes_.cancel(*this); }

void ws_transport::send(frame_ptr frame) {
    if (!close_queued_) push(std::move(frame));
}

void ws_transport::send_close(frame_ptr frame) {
    if (close_queued_) return;
    close_queued_ = true;
    push(std::move(frame));
}

void ws_transport::close_now() {
    write_error_ = net::error::operation_aborted;
    queue_.clear();
    queued_bytes_ = 0;
    front_offset_ = 0;
    flushes_.cancel(*this);
    boost::beast::error_code ignored;
    socket_.close(ignored);
}

void ws_transport::push(frame_ptr frame) {
    if (write_error_) return;
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    // Written at the end of this turn of the loop: a burst queued by one handler leaves
    // together. A full socket is written when it becomes writable.
    if (!write_waiting_) flushes_.schedule(*this);
}

void ws_transport::discard_queued() {
    // Keep a partly written frame: the peer must get whole frames for the close frame that
    // follows to make sense.
    const std::size_t keep = front_offset_ > 0 ? 1 : 0;
    if (queue_.size() <= keep) return;
    for (auto it = queue_.begin() + static_cast<std::ptrdiff_t>(keep); it != queue_.end(); ++it)
        queued_bytes_ -= (*it)->size();
    queue_.resize(keep);
}

std::size_t ws_transport::queued_bytes() const noexcept {
    return queued_bytes_ + (tls_ ? tls_->pending_ciphertext() : 0);
}

void ws_transport::unread(std::string_view bytes) {
    if (bytes.empty()) return;
    if (!unread_) unread_ = std::make_unique<std::string>();
    unread_->insert(0, bytes);
}

std::size_t ws_transport::read_some(net::mutable_buffer buffer, beast::error_code& ec) {
    ec = {};
    if (unread_) {
        const std::size_t n = std::min(buffer.size(), unread_->size());
        std::memcpy(buffer.data(), unread_->data(), n);
        unread_->erase(0, n);
        if (unread_->empty()) unread_.reset();
        return n;
    }
    if (!tls_) return socket_.read_some(buffer, ec);
    for (;;) {
        if (const std::size_t n = tls_->read_plain(buffer.data(), buffer.size())) return n;
        if (tls_->state() == tls_state::closed) {
            ec = net::error::eof;
            return 0;
        }
        if (tls_->state() == tls_state::failed) {
            ec = tls_->error();
            return 0;
        }
        // Only when the engine has nothing left to decrypt, so it holds one read at most.
        const net::mutable_buffer scratch = detail::tls_read_scratch();
        const std::size_t got = socket_.read_some(scratch, ec);
        if (ec) return 0;
        tls_->feed(scratch.data(), got);
        // The input may ask for an answer (a key update, an alert): it leaves with the queue.
        if (tls_->pending_ciphertext() > 0 && !write_waiting_) flushes_.schedule(*this);
    }
}

bool ws_transport::has_buffered_input() const noexcept {
    return unread_ || (tls_ && (tls_->pending_plain() > 0 || tls_->pending_input() > 0));
}

void ws_transport::write_now() {
    flushes_.cancel(*this);
    // Over TLS, a graceful close ends with close_notify after the close frame.
    auto close_notify_due = [this] { return tls_ && on_flushed_ && tls_->writable(); };
    while (!write_error_ &&
           (!queue_.empty() || (tls_ && tls_->pending_ciphertext() > 0) || close_notify_due())) {
        if (!(tls_ ? write_tls() : write_plain_queue())) return;
    }
    // A burst leaves the queue's array behind; an idle connection keeps at most a small one.
    if (queue_.capacity() > queue_keep) std::vector<frame_ptr>().swap(queue_);
    if (on_flushed_ && !linger_) finish_close(write_error_);
}

void ws_transport::gather(buffer_list& out, std::size_t& offered) const {
    offered = 0;
    for (const auto& frame : queue_) {
        if (out.size() == out.capacity()) break;
        const std::size_t skip = out.empty() ? front_offset_ : 0;
        out.emplace_back(frame->data() + skip, frame->size() - skip);
        offered += frame->size() - skip;
    }
}

void ws_transport::consume(std::size_t n) {
    std::size_t done = 0;
    while (n > 0) {
        const std::size_t left = queue_[done]->size() - front_offset_;
        if (n < left) {
            front_offset_ += n;
            break;
        }
        n -= left;
        queued_bytes_ -= queue_[done]->size();
        front_offset_ = 0;
        ++done;
    }
    counters_.frames_sent += done;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
}

bool ws_transport::write_socket(const buffer_list& buffers, std::size_t& written) {
    beast::error_code ec;
    written = socket_.write_some(buffers, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
        wait_writable();
        return false;
    }
    if (ec) {
        fail_write(ec);
        return false;
    }
    ++counters_.writes;
    counters_.bytes_sent += written;
    return true;
}

bool ws_transport::write_plain_queue() {
    buffer_list buffers;
    std::size_t offered = 0;
    gather(buffers, offered);
    std::size_t n = 0;
    if (!write_socket(buffers, n)) return false;
    consume(n);
    // The socket buffer is full: the rest waits until the peer reads.
    if (n < offered) wait_writable();
    return n == offered;
}

bool ws_transport::write_tls() {
    // Encrypt the queue as the socket takes it: a slow reader keeps shared frames queued, not
    // its own copy of them in ciphertext.
    while (!queue_.empty() && tls_->pending_ciphertext() < tls_write_ahead) {
        buffer_list frames;
        std::size_t offered = 0;
        gather(frames, offered);
        const std::size_t taken = tls_->write_plain_from(frames, tls_write_ahead);
        if (taken == 0) {
            fail_write(tls_->state() == tls_state::failed ? tls_->error()
                                                          : beast::error_code(tls_errc::not_open));
            return false;
        }
        consume(taken);
    }
    if (on_flushed_ && queue_.empty()) tls_->shutdown();  // close_notify (once)

    buffer_list buffers(max_gather);
    buffers.resize(tls_->ciphertext_buffers(buffers.data(), buffers.size()));
    std::size_t n = 0;
    if (!write_socket(buffers, n)) return false;
    const bool partial = n < net::buffer_size(buffers);
    tls_->consume_ciphertext(n);
    if (partial) wait_writable();
    return !partial;
}

void ws_transport::wait_writable() {
    write_waiting_ = true;
    auto self = owner_.lock();
    assert(self && "ws_transport::set_owner() was not called");
    socket_.async_wait(socket_type::wait_write,
                       [this, self = std::move(self)](boost::beast::error_code ec) {
                           write_waiting_ = false;
                           if (ec) return fail_write(ec);
                           write_now();
                       });
}

void ws_transport::fail_write(boost::beast::error_code ec) {
    if (!write_error_) write_error_ = ec;
    queue_.clear();
    queued_bytes_ = 0;
    front_offset_ = 0;
    // The peer is gone or broken: end the read side too, so the session finishes.
    boost::beast::error_code ignored;
    socket_.close(ignored);
    if (on_flushed_) finish_close(write_error_);
}

void ws_transport::finish_close(boost::beast::error_code ec) {
    if (ec || linger_) {
        boost::beast::error_code ignored;
        socket_.close(ignored);
        return complete_close(ec);
    }
    boost::beast::error_code ignored;
    socket_.shutdown(socket_type::shutdown_send, ignored);
    linger_ = std::make_unique<linger_state>(socket_.get_executor());
    linger_->timer.expires_after(linger_time);
    linger_->timer.async_wait([this, self = owner_.lock()](boost::beast::error_code wait_ec) {
        boost::beast::error_code ignored_close;
        if (!wait_ec) socket_.close(ignored_close);
    });
    drain_input();
}

void ws_transport::drain_input() {
    socket_.async_read_some(net::buffer(linger_->discard),
                            [this, self = owner_.lock()](boost::beast::error_code ec, std::size_t) {
                                if (!ec) return drain_input();
                                linger_->timer.cancel();
                                boost::beast::error_code ignored;
                                socket_.close(ignored);
                                // The peer closing is how a graceful close ends.
                                complete_close({});
                            });
}

void ws_transport::complete_close(boost::beast::error_code ec) {
    if (!on_flushed_) return;
    auto done = std::move(on_flushed_);
    on_flushed_ = nullptr;
    net::post(socket_.get_executor(), [done = std::move(done), ec] { done(ec); });
}

}  // namespace wsgate
