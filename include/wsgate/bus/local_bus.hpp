#pragma once

#include <deque>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>

#include <wsgate/bus/bus.hpp>
#include <wsgate/history/idempotency_cache.hpp>
#include <wsgate/history/memory_history.hpp>

namespace wsgate {

/// The in-process bus of a single instance, the embedded engine. Like Redis, it delivers
/// asynchronously (never from inside publish()) and only on topics subscribed at delivery
/// time; envelopes keep their order. It keeps channel history in memory (memory_history) and
/// remembers idempotency keys (idempotency_cache).
class local_bus final : public bus {
public:
    struct limits {
        std::size_t history_bytes = 64 * 1024 * 1024;
        std::chrono::milliseconds idempotency_window{300000};
        std::size_t idempotency_keys = 100000;
    };

    local_bus(boost::asio::any_io_executor ex, limits l);
    explicit local_bus(boost::asio::any_io_executor ex) : local_bus(std::move(ex), limits{}) {}

    void publish(const envelope& e, const publish_options& how, publish_callback done) override;
    void read_history(const std::string& topic, const std::string& epoch, std::uint64_t after,
                      std::size_t limit, read_callback done) override;
    void remove_history(const std::string& topic, std::function<void(bool)> done) override;
    void subscribe(const std::string& topic) override { topics_.insert(topic); }
    void unsubscribe(const std::string& topic) override { topics_.erase(topic); }
    bool ready() const override { return true; }
    void when_subscribed(const std::string&, std::function<void()> in_force) override {
        in_force();  // in memory, a subscription is in force at once
    }

    std::optional<history::memory_usage> history_memory() const override {
        return history::memory_usage{history_.bytes(), history_.streams(), history_.evicted()};
    }

private:
    void drain();

    boost::asio::any_io_executor ex_;
    std::unordered_set<std::string> topics_;
    // (topic, envelope) waiting for the next drain; one drain handles a whole burst.
    std::deque<std::pair<std::string, envelope>> pending_;
    bool drain_posted_ = false;
    history::memory_history history_;
    history::idempotency_cache keys_;
};

}  // namespace wsgate
