#pragma once

#include <deque>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>

#include <wsgate/bus/bus.hpp>

namespace wsgate {

/// The in-process bus of a single instance. Like Redis, it delivers asynchronously (never from
/// inside publish()) and only on topics subscribed at delivery time; envelopes keep their order.
class local_bus final : public bus {
public:
    explicit local_bus(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

    void publish(const envelope& e, publish_callback done) override;
    void subscribe(const std::string& topic) override { topics_.insert(topic); }
    void unsubscribe(const std::string& topic) override { topics_.erase(topic); }
    bool ready() const override { return true; }
    void when_subscribed(const std::string&, std::function<void()> in_force) override {
        in_force();  // in memory, a subscription is in force at once
    }

private:
    void drain();

    boost::asio::any_io_executor ex_;
    std::unordered_set<std::string> topics_;
    // (topic, envelope) waiting for the next drain; one drain handles a whole burst.
    std::deque<std::pair<std::string, envelope>> pending_;
    bool drain_posted_ = false;
};

}  // namespace wsgate
