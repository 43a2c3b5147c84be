#pragma once
// What channel history is made of, shared by the engines that keep it (memory_history on the
// embedded bus, a Lua script on Redis) and the parts that read it (subscribe recovery, the
// REST history endpoint, the gateway's own gap repair). No I/O, no heavy headers.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <wsgate/bus/envelope.hpp>

namespace wsgate::history {

/// How much history a stream keeps (a channel rule's `history`, or history.users). Off when
/// `size` is 0: then the stream has no offsets either, and costs nothing.
struct policy {
    std::size_t size = 0;              ///< events kept, the newest
    std::chrono::milliseconds ttl{0};  ///< how long the history lives after its last event
    bool on() const { return size > 0; }
};

/// A place in a stream: the last offset published in the incarnation `epoch`. A stream that
/// does not exist (never published to, expired, removed) is at epoch "" and offset 0: a client
/// that saw that position may recover from offset 1 of whatever epoch comes next.
struct position {
    std::string epoch;
    std::uint64_t offset = 0;
};

/// Events read from a stream's history, oldest first, with the stream's position at the time
/// of the read. `complete`: the stream is still in the epoch asked for and none of the events
/// asked for has been trimmed away: `events` starts right after the offset asked for (it may
/// stop before `top.offset` when a limit cut it).
struct read_result {
    position top;
    std::vector<std::shared_ptr<const envelope>> events;
    bool complete = false;
};

/// As the `after` of a read: whatever the stream still keeps, in its current epoch.
inline constexpr std::uint64_t from_oldest = UINT64_MAX;

/// What an in-memory history holds (for /metrics).
struct memory_usage {
    std::size_t bytes = 0;
    std::size_t streams = 0;
    std::uint64_t evicted = 0;  ///< events dropped early to stay within the budget
};

/// A random epoch: 8 characters of [0-9a-z], different for every incarnation of a stream.
std::string new_epoch();

}  // namespace wsgate::history
