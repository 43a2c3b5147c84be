#include <wsgate/session/ws_transport.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/static_vector.hpp>

#include <array>
#include <cassert>
#include <chrono>

namespace wsgate {

namespace net = boost::asio;

namespace {
// Frames per gather write; Linux's sendmsg takes up to 1024, Asio passes at most 64.
constexpr std::size_t max_gather = 64;
// Queue entries kept allocated while the queue is empty (more is released after a burst).
constexpr std::size_t queue_keep = 4;
// How long a closing connection waits for the peer's FIN.
constexpr std::chrono::seconds linger_time{2};
}  // namespace

struct ws_transport::linger_state {
    explicit linger_state(const executor_type& ex) : timer(ex) {}
    net::steady_timer timer;
    std::array<char, 1024> discard{};
};

ws_transport::ws_transport(socket_type socket, metrics& counters)
    : socket_(std::move(socket)),
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

void ws_transport::write_now() {
    flushes_.cancel(*this);
    while (!write_error_ && !queue_.empty()) {
        boost::container::static_vector<net::const_buffer, max_gather> buffers;
        std::size_t offered = 0;
        for (const auto& frame : queue_) {
            if (buffers.size() == max_gather) break;
            const std::size_t skip = buffers.empty() ? front_offset_ : 0;
            buffers.emplace_back(frame->data() + skip, frame->size() - skip);
            offered += frame->size() - skip;
        }
        boost::beast::error_code ec;
        std::size_t n = socket_.write_some(buffers, ec);
        if (ec == net::error::would_block || ec == net::error::try_again) return wait_writable();
        if (ec) return fail_write(ec);
        ++counters_.writes;
        counters_.bytes_sent += n;
        const bool partial = n < offered;
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
        // The socket buffer is full: the rest waits until the peer reads.
        if (partial) return wait_writable();
    }
    // A burst leaves the queue's array behind; an idle connection keeps at most a small one.
    if (queue_.capacity() > queue_keep) std::vector<frame_ptr>().swap(queue_);
    if (on_flushed_ && !linger_) finish_close(write_error_);
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
