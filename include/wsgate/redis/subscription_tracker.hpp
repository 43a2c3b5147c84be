#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wsgate {

/// The Pub/Sub channels an instance needs, kept as data so that any connection can be brought
/// up to date: what is wanted, what was asked of Redis, and what Redis confirmed. I/O-free.
///
/// Changes are collected and taken as one batch (one SUBSCRIBE and one UNSUBSCRIBE command),
/// so churn of clients joining and leaving costs few commands. After a reconnect, reset()
/// makes the next batch subscribe everything wanted.
///
/// Every operation costs O(1) per channel it names (take_batch() and reset() O(1) per channel
/// they handle): after a reconnect the bus asks in_force() once per confirmation, so a walk over
/// the wanted set there would make resubscribing n channels cost n^2.
class subscription_tracker {
public:
    struct batch {
        std::vector<std::string> subscribe;
        std::vector<std::string> unsubscribe;
        bool empty() const { return subscribe.empty() && unsubscribe.empty(); }
    };

    void want(const std::string& channel);
    void drop(const std::string& channel);

    /// What must be sent to bring Redis to the wanted set; afterwards it counts as asked.
    batch take_batch();
    /// Redis confirmed a subscription (`subscribed`) or an unsubscription.
    void confirmed(const std::string& channel, bool subscribed);
    /// The connection is gone: nothing is asked or confirmed any more.
    void reset();

    bool has_changes() const { return !dirty_.empty(); }
    bool is_confirmed(const std::string& channel) const {
        return has(confirmed_, channel) && has(wanted_, channel);
    }
    /// True when every wanted channel is confirmed subscribed.
    bool in_force() const { return dirty_.empty() && unconfirmed_ == 0; }
    std::size_t wanted() const { return wanted_.size(); }
    /// How many times a channel was looked up in (or added to, or removed from) the sets so far:
    /// tests hold the cost of resubscribing to it.
    std::uint64_t lookups() const { return lookups_; }

private:
    using channel_set = std::unordered_set<std::string>;
    bool has(const channel_set& set, const std::string& channel) const;
    bool insert(channel_set& set, const std::string& channel);
    bool erase(channel_set& set, const std::string& channel);

    channel_set wanted_;
    channel_set asked_;            // SUBSCRIBE sent, no UNSUBSCRIBE since
    channel_set confirmed_;        // Redis said subscribed, and no UNSUBSCRIBE was sent since
    // UNSUBSCRIBEs sent and not yet confirmed, per channel. Redis answers in order: a
    // subscribe confirmation that comes while one is outstanding is from before it, and
    // must not make the channel count as subscribed (it is about to be unsubscribed).
    std::unordered_map<std::string, unsigned> unsubscribing_;
    channel_set dirty_;            // wanted state changed since the last batch
    std::size_t unconfirmed_ = 0;  // wanted and not in confirmed_: in_force() without a walk
    mutable std::uint64_t lookups_ = 0;
};

}  // namespace wsgate
