#include <wsgate/bus/local_bus.hpp>

#include <boost/asio/post.hpp>

namespace wsgate {

void local_bus::publish(const envelope& e, publish_callback done) {
    pending_.emplace_back(topic_of(e), e);
    if (!drain_posted_) {
        drain_posted_ = true;
        boost::asio::post(ex_, [this] { drain(); });
    }
    // In memory, taking it is all there is to accepting it.
    if (done) done(true);
}

void local_bus::drain() {
    drain_posted_ = false;
    // Take the whole burst: what handlers publish meanwhile waits for the next drain.
    auto batch = std::move(pending_);
    pending_.clear();
    for (const auto& [topic, e] : batch) {
        if (handler_ && topics_.count(topic) != 0) handler_(e);
    }
}

}  // namespace wsgate
