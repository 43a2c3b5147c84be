#include <wsgate/session/ws_transport.hpp>

#include <boost/asio/post.hpp>
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
// How long a closing connection waits for the peer's FIN.
constexpr std::chrono::seconds linger_time{2};
}  // namespace

struct ws_transport::linger_state {
    explicit linger_state(const executor_type& ex) : timer(ex) {}
    net::steady_timer timer;
    std::array<char, 1024> discard{};
};

ws_transport::ws_transport(socket_type socket, metrics& counters)
    : socket_(std::move(socket)), counters_(counters) {}

ws_transport::~ws_transport() = default;

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
    // The write in flight still points at its frames: they go when it completes.
    queue_.resize(in_flight_);
    queued_bytes_ = 0;
    for (const auto& f : queue_) queued_bytes_ += f->size();
    boost::beast::error_code ignored;
    socket_.close(ignored);
}

void ws_transport::push(frame_ptr frame) {
    if (write_error_) return;
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    schedule_flush();
}

void ws_transport::schedule_flush() {
    if (in_flight_ > 0 || flush_posted_) return;
    // Wait for the end of this turn of the loop: a burst queued by one handler leaves together.
    flush_posted_ = true;
    auto self = owner_.lock();
    assert(self && "ws_transport::set_owner() was not called");
    net::post(socket_.get_executor(), [this, self = std::move(self)] {
        flush_posted_ = false;
        write_queued();
    });
}

void ws_transport::discard_queued() {
    // Keep what the write in flight points at, and a partly written frame: the peer must get
    // whole frames for the close frame that follows to make sense.
    const std::size_t keep = std::max(in_flight_, front_offset_ > 0 ? std::size_t{1} : 0);
    if (queue_.size() <= keep) return;
    for (auto it = queue_.begin() + static_cast<std::ptrdiff_t>(keep); it != queue_.end(); ++it)
        queued_bytes_ -= (*it)->size();
    queue_.resize(keep);
}

void ws_transport::write_queued() {
    if (in_flight_ > 0) return;
    if (write_error_ || queue_.empty()) {
        if (on_flushed_ && !linger_) finish_close(write_error_);
        return;
    }
    boost::container::static_vector<net::const_buffer, max_gather> buffers;
    for (const auto& frame : queue_) {
        if (buffers.size() == max_gather) break;
        const std::size_t skip = buffers.empty() ? front_offset_ : 0;
        buffers.emplace_back(frame->data() + skip, frame->size() - skip);
    }
    in_flight_ = buffers.size();
    socket_.async_write_some(buffers, [this, self = owner_.lock()](boost::beast::error_code ec,
                                                                   std::size_t n) {
        on_write(ec, n);
    });
}

void ws_transport::on_write(boost::beast::error_code ec, std::size_t n) {
    in_flight_ = 0;
    if (ec) {
        write_error_ = ec;
        queue_.clear();
        queued_bytes_ = 0;
        front_offset_ = 0;
        // The peer is gone or broken: end the read side too, so the session finishes.
        boost::beast::error_code ignored;
        socket_.close(ignored);
        if (on_flushed_) finish_close(ec);
        return;
    }
    ++counters_.writes;
    counters_.bytes_sent += n;
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
    // Everything queued meanwhile goes out in the next gather write.
    write_queued();
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
