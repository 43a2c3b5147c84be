#include <wsgate/redis/subscription_tracker.hpp>

namespace wsgate {

bool subscription_tracker::has(const channel_set& set, const std::string& channel) const {
    ++lookups_;
    return set.count(channel) != 0;
}

bool subscription_tracker::insert(channel_set& set, const std::string& channel) {
    ++lookups_;
    return set.insert(channel).second;
}

bool subscription_tracker::erase(channel_set& set, const std::string& channel) {
    ++lookups_;
    return set.erase(channel) != 0;
}

void subscription_tracker::want(const std::string& channel) {
    if (!insert(wanted_, channel)) return;
    insert(dirty_, channel);
    if (!has(confirmed_, channel)) ++unconfirmed_;
}

void subscription_tracker::drop(const std::string& channel) {
    if (!erase(wanted_, channel)) return;
    insert(dirty_, channel);
    if (!has(confirmed_, channel)) --unconfirmed_;
}

subscription_tracker::batch subscription_tracker::take_batch() {
    batch b;
    for (const auto& channel : dirty_) {
        const bool want = has(wanted_, channel);
        const bool asked = has(asked_, channel);
        if (want && !asked) {
            b.subscribe.push_back(channel);
            insert(asked_, channel);
        } else if (!want && asked) {
            b.unsubscribe.push_back(channel);
            erase(asked_, channel);
            // From now on, what Redis confirmed before no longer holds.
            erase(confirmed_, channel);
            ++lookups_;
            ++unsubscribing_[channel];
        }
    }
    dirty_.clear();
    return b;
}

void subscription_tracker::confirmed(const std::string& channel, bool subscribed) {
    if (auto it = unsubscribing_.find(channel); ++lookups_, it != unsubscribing_.end()) {
        if (subscribed) return;  // answers a SUBSCRIBE sent before the pending UNSUBSCRIBE
        if (--it->second == 0) unsubscribing_.erase(it);
        return;  // confirmed_ was updated when it was sent
    }
    const bool changed = subscribed ? insert(confirmed_, channel) : erase(confirmed_, channel);
    if (!changed || !has(wanted_, channel)) return;
    if (subscribed)
        --unconfirmed_;
    else
        ++unconfirmed_;
}

void subscription_tracker::reset() {
    asked_.clear();
    confirmed_.clear();
    unsubscribing_.clear();
    lookups_ += wanted_.size();
    dirty_ = wanted_;
    unconfirmed_ = wanted_.size();
}

}  // namespace wsgate
