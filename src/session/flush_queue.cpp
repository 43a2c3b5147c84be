#include <wsgate/session/detail/flush_queue.hpp>

#include <boost/asio/post.hpp>

#include <wsgate/session/ws_transport.hpp>

namespace wsgate::detail {

boost::asio::execution_context::id flush_queue::id;

void flush_queue::schedule(ws_transport& t) {
    if (t.flush_slot_ != none) return;
    t.flush_slot_ = static_cast<std::uint32_t>(pending_.size());
    pending_.push_back(&t);
    if (posted_) return;
    posted_ = true;
    boost::asio::post(t.get_executor(), [this] { run(); });
}

void flush_queue::cancel(ws_transport& t) {
    if (t.flush_slot_ == none) return;
    pending_[t.flush_slot_] = nullptr;
    t.flush_slot_ = none;
}

void flush_queue::shutdown() {
    for (ws_transport* t : pending_)
        if (t != nullptr) t->flush_slot_ = none;
    std::vector<ws_transport*>().swap(pending_);
}

void flush_queue::run() {
    // Transports scheduled while this runs are flushed in this run too.
    for (std::size_t i = 0; i < pending_.size(); ++i) {
        ws_transport* t = pending_[i];
        if (t == nullptr) continue;
        pending_[i] = nullptr;
        t->flush_slot_ = none;
        t->write_now();
    }
    pending_.clear();
    posted_ = false;
}

}  // namespace wsgate::detail
