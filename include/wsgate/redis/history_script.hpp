#pragma once
// Channel history in Redis: the two Lua scripts and the shape of their keys, arguments and
// replies. The publish script checks the idempotency key, gives the event its stream's next
// offset, appends it to the stream's list and PUBLISHes it, in one atomic step, so that the
// live order and the history order are one order on every instance. No I/O here: redis_bus
// sends what this builds.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wsgate/bus/envelope.hpp>
#include <wsgate/history/stream.hpp>

struct redisReply;

namespace wsgate::redis_history {

/// A Lua script and its SHA1, for EVALSHA.
struct script {
    std::string_view text;
    std::string sha1;
};
const script& publish_script();
const script& read_script();

/// The keys of `topic`'s stream. They share the hash tag `{<topic>}`, so that one script may
/// touch all of them on a Redis Cluster too.
std::string meta_key(std::string_view prefix, std::string_view topic);  ///< epoch and top
std::string log_key(std::string_view prefix, std::string_view topic);   ///< the events
std::string idempotency_key(std::string_view prefix, std::string_view topic,
                            std::string_view key);

/// One event of a run.
struct publication {
    std::string_view encoded;          ///< encode(e), without offset and epoch
    std::string_view idempotency_key;  ///< empty: none
    std::string_view id;
};
/// What one call of the publish script publishes: events to one topic, in order.
struct run {
    std::string_view prefix;
    std::string_view topic;
    history::policy policy;  ///< off: published with no offset, nothing kept
    std::chrono::milliseconds idempotency_window{0};
    std::string_view new_epoch;  ///< the epoch if the stream begins with this run
    std::vector<publication> events;
};
/// The arguments after EVALSHA/EVAL and the script: numkeys, keys, argv.
std::vector<std::string> publish_args(const run& r);

/// The publish script's answer for each of a run's `count` events: nullopt when `reply` is
/// not one.
struct published {
    bool duplicate = false;
    std::string id;
    history::position at;
};
std::optional<std::vector<published>> parse_publish_reply(const redisReply* reply,
                                                          std::size_t count);

/// Arguments of the read script for the events of `topic` after `after` of `epoch`
/// (history::from_oldest: whatever is kept), at most `limit`.
std::vector<std::string> read_args(std::string_view prefix, std::string_view topic,
                                   std::string_view epoch, std::uint64_t after,
                                   std::size_t limit);
/// The read script's answer, its events decoded with `json_max_depth`; nullopt when `reply`
/// is not one.
std::optional<history::read_result> parse_read_reply(const redisReply* reply,
                                                     std::size_t json_max_depth);

/// DEL of both keys of `topic`'s stream.
std::vector<std::string> remove_command(std::string_view prefix, std::string_view topic);

/// True when `reply` is Redis saying it does not know the script (NOSCRIPT): the caller then
/// sends it whole with EVAL, which also caches it.
bool is_noscript(const redisReply* reply);

}  // namespace wsgate::redis_history
