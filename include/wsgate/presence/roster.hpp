#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wsgate::presence {

/// One connection subscribed to a channel with presence.
struct member {
    std::string connection;
    std::string user;                ///< empty: an anonymous connection
    std::int64_t connected_at = 0;   ///< when the connection opened, Unix milliseconds
    std::string info = "null";       ///< what its token's claim says about it, as JSON text
};

struct stats {
    std::size_t connections = 0;
    std::size_t users = 0;  ///< distinct users; anonymous connections count as none
};

/// A user joined or left a channel: what subscribers of a channel with join_leave are told.
struct change {
    enum class kind { join, leave };
    kind what = kind::join;
    std::string channel;
    member who;  ///< the connection that brought the user in, or the last one that left
};

/// Who is subscribed to each channel with presence, and the join/leave rule (issue 15):
///
/// * A user joins a channel when their first connection subscribes to it; a second connection
///   (another tab) is a member too, but no join.
/// * A user leaves when their last connection in the channel has gone for `grace`: a connection
///   that comes back within it (a quick reconnect) produces neither a leave nor a join.
/// * Anonymous connections are members, and never join or leave.
///
/// I/O-free: the caller feeds subscriptions and the time, and sends the changes; leaves are
/// due only when the caller asks (due()). Bounded by the subscriptions it is given, plus one
/// pending leave per user who left within the last `grace`.
class roster {
public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit roster(std::chrono::milliseconds grace) : grace_(grace) {}

    /// `m` subscribes to `channel` (again: it replaces itself). A join, when it brings its user
    /// into the channel and the user is not within the grace of a leave.
    std::optional<change> add(const std::string& channel, member m);
    /// `connection` is no longer subscribed to `channel` (at `now`); false when it was not. The
    /// user's leave, when it was their last connection there, is due `grace` later.
    bool remove(const std::string& channel, const std::string& connection, time_point now);
    /// The leaves due by `now`, oldest first; each is returned once.
    std::vector<change> due(time_point now);
    /// When to call due() next: the earliest pending leave (which may turn out cancelled).
    std::optional<time_point> next_due() const;

    /// The members of `channel`, in no particular order (none when it has no presence or no
    /// member).
    std::vector<member> members(const std::string& channel) const;
    stats stats_of(const std::string& channel) const;
    /// Members over every channel (for /metrics).
    std::size_t size() const { return members_total_; }

private:
    struct channel_state {
        std::unordered_map<std::string, member> members;      ///< by connection id
        std::unordered_map<std::string, std::size_t> users;   ///< connections per user
        std::unordered_map<std::string, time_point> leaving;  ///< user → leave due at
    };
    struct pending {
        std::string channel;
        std::string user;
        member last;
    };

    std::chrono::milliseconds grace_;
    std::unordered_map<std::string, channel_state> channels_;
    /// Pending leaves by due time; one whose user came back (no longer in `leaving` with the
    /// same time) is skipped when it comes up.
    std::multimap<time_point, pending> leaves_;
    std::size_t members_total_ = 0;
};

}  // namespace wsgate::presence
