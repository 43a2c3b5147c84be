#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

namespace wsgate {

/// The Pub/Sub channels an instance needs, kept as data so that any connection can be brought
/// up to date: what is wanted, what was asked of Redis, and what Redis confirmed. I/O-free.
///
/// Changes are collected and taken as one batch (one SUBSCRIBE and one UNSUBSCRIBE command),
/// so churn of clients joining and leaving costs few commands. After a reconnect, reset()
/// makes the next batch subscribe everything wanted.
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
        return confirmed_.count(channel) != 0 && wanted_.count(channel) != 0;
    }
    /// True when every wanted channel is confirmed subscribed.
    bool in_force() const;
    std::size_t wanted() const { return wanted_.size(); }

private:
    std::unordered_set<std::string> wanted_;
    std::unordered_set<std::string> asked_;      // SUBSCRIBE sent, no UNSUBSCRIBE since
    std::unordered_set<std::string> confirmed_;  // Redis said subscribed
    std::unordered_set<std::string> dirty_;      // wanted state changed since the last batch
};

}  // namespace wsgate
