#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate {

/// Who an event is for.
enum class target_kind { channel, user, connection, broadcast };

const char* to_string(target_kind k);

/// What the clients receive: an `event` (from a publisher), a `message` a service pushes, or a
/// `reply` a service gives to one client request.
enum class frame_kind { event, message, reply };

const char* to_string(frame_kind k);

/// One event on its way from an ingest point to the clients of every instance.
struct envelope {
    static constexpr int version = 1;

    std::string id;      ///< event id, unique per origin instance
    std::string origin;  ///< instance id of the gateway that ingested it
    target_kind kind = target_kind::broadcast;
    std::string target;  ///< channel, user or connection id; empty for broadcast
    std::string event;   ///< event name (events only)
    std::string data;    ///< the event's data as JSON text
    frame_kind frame = frame_kind::event;
    std::string service;   ///< the service a message or reply comes from
    std::string reply_id;  ///< replies: the client request's id, as JSON text
    std::int64_t timestamp_ms = 0;  ///< ingest time, Unix epoch milliseconds
    /// Its place in its stream's history (docs/history.md): offsets count from 1 within the
    /// epoch; 0 (and epoch "") when the stream keeps no history.
    std::uint64_t offset = 0;
    std::string epoch;
};

/// The bus topic that carries `e`: `ch:<channel>`, `user:<user>`, `conn:<instance>` or `all`.
std::string topic_of(const envelope& e);

/// The topic of the instance that holds `connection_id` (the part before its last '-').
std::string connection_topic(std::string_view connection_id);
std::string instance_topic(std::string_view instance_id);
inline const char* broadcast_topic() { return "all"; }

/// The wire form between instances: a small versioned JSON object.
std::string encode(const envelope& e);
/// nullopt for anything that is not a well-formed envelope of a known version, or whose data
/// nests arrays and objects deeper than `max_depth` (limits.json_max_depth; then `*too_deep` is
/// set when given).
std::optional<envelope> decode_envelope(std::string_view text, std::size_t max_depth = 64,
                                        bool* too_deep = nullptr);

}  // namespace wsgate
