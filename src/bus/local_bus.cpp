#include <wsgate/bus/local_bus.hpp>

#include <boost/asio/post.hpp>

namespace wsgate {

local_bus::local_bus(boost::asio::any_io_executor ex, limits l)
    : ex_(std::move(ex)),
      history_(l.history_bytes),
      keys_(l.idempotency_window, l.idempotency_keys) {}

void local_bus::publish(const envelope& e, const publish_options& how, publish_callback done) {
    const auto now = history::memory_history::clock::now();
    publish_result r;
    r.accepted = true;  // in memory, taking it is all there is to accepting it
    std::string topic = topic_of(e);
    // A key names a publication to one target, as in Redis, where it lives beside the stream.
    const std::string key =
        how.idempotency_key.empty() ? std::string() : topic + '\n' + how.idempotency_key;
    if (!key.empty()) {
        if (const auto* first = keys_.find(key, now)) {
            r.duplicate = true;
            r.id = first->id;
            r.at = first->at;
            if (done) done(r);
            return;
        }
    }
    pending_.emplace_back(std::move(topic), e);
    envelope& queued = pending_.back().second;
    // The offset is given in the same step as the event is queued for delivery: delivery order
    // is offset order.
    if (how.history.on()) r.at = history_.append(pending_.back().first, queued, how.history, now);
    r.id = queued.id;
    if (!key.empty()) keys_.remember(key, {r.id, r.at}, now);
    if (!drain_posted_) {
        drain_posted_ = true;
        boost::asio::post(ex_, [this] { drain(); });
    }
    if (done) done(r);
}

void local_bus::read_history(const std::string& topic, const std::string& epoch,
                             std::uint64_t after, std::size_t limit, read_callback done) {
    // Read now, answered later: like Redis, never from inside the call. What is published
    // meanwhile comes after `top` and reaches subscribers live.
    auto result = history_.read(topic, epoch, after, limit, history::memory_history::clock::now());
    boost::asio::post(ex_, [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
    });
}

void local_bus::remove_history(const std::string& topic, std::function<void(bool)> done) {
    history_.remove(topic);
    boost::asio::post(ex_, [done = std::move(done)] { done(true); });
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
