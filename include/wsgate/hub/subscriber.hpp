#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <wsgate/history/stream.hpp>
#include <wsgate/protocol/frame.hpp>

namespace wsgate {

/// A connected client as the hub sees it. The hub never owns subscribers: each one adds itself
/// when it is ready for events and removes itself before it is destroyed.
class subscriber {
public:
    virtual ~subscriber() = default;

    /// Queues one shared frame for sending. Must not call back into the hub (the hub may be
    /// iterating over its subscribers): anything that would remove the subscriber happens later.
    virtual void deliver(const frame_ptr& frame) = 0;
    /// An event (or a gap report) at position `at` of a stream's history: `channel`'s, or the
    /// subscriber's user's when `channel` is hub::user_stream. A subscriber that is reading
    /// that history holds it until then (and drops it if the history had it); the rest
    /// deliver it.
    virtual void deliver_event(const std::string& channel, const history::position& at,
                               const frame_ptr& frame) {
        (void)channel;
        (void)at;
        deliver(frame);
    }

    /// The process is shutting down: close after `close_in`, suggesting the client reconnect
    /// after `reconnect_after`. Same rule as deliver() about the hub.
    virtual void go_away(std::chrono::milliseconds close_in,
                         std::chrono::milliseconds reconnect_after) = 0;
};

}  // namespace wsgate
