#include <wsgate/redis/subscription_tracker.hpp>

namespace wsgate {

void subscription_tracker::want(const std::string& channel) {
    if (wanted_.insert(channel).second) dirty_.insert(channel);
}

void subscription_tracker::drop(const std::string& channel) {
    if (wanted_.erase(channel) != 0) dirty_.insert(channel);
}

subscription_tracker::batch subscription_tracker::take_batch() {
    batch b;
    for (const auto& channel : dirty_) {
        const bool want = wanted_.count(channel) != 0;
        const bool asked = asked_.count(channel) != 0;
        if (want && !asked) {
            b.subscribe.push_back(channel);
            asked_.insert(channel);
        } else if (!want && asked) {
            b.unsubscribe.push_back(channel);
            asked_.erase(channel);
        }
    }
    dirty_.clear();
    return b;
}

void subscription_tracker::confirmed(const std::string& channel, bool subscribed) {
    if (subscribed)
        confirmed_.insert(channel);
    else
        confirmed_.erase(channel);
}

void subscription_tracker::reset() {
    asked_.clear();
    confirmed_.clear();
    dirty_ = wanted_;
}

bool subscription_tracker::in_force() const {
    if (!dirty_.empty()) return false;
    for (const auto& channel : wanted_) {
        if (confirmed_.count(channel) == 0) return false;
    }
    return true;
}

}  // namespace wsgate
