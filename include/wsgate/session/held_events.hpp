#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <wsgate/history/stream.hpp>
#include <wsgate/protocol/frame.hpp>

namespace wsgate {

/// One client's live events on channels whose subscribe is reading the channel's history:
/// held until the read is answered, then released after the events the history gave, without
/// those it already had. This is how a recovery merges history and live events with no gap and
/// no duplicate: live events arrive in offset order, the history ends at a known position.
///
/// With Redis the history is read on another connection than the live events come on, so an
/// event the history had may still arrive live after the release: the released position stays
/// as a floor below which the channel's events are dropped, until the first newer one.
/// I/O-free; a client holds a few channels at most, so a flat list does.
class held_events {
public:
    void hold(const std::string& channel);
    bool empty() const { return channels_.empty(); }
    /// Takes `frame`, at position `at` of `channel`, when `channel` is held (kept) or below its
    /// floor (dropped): true. False: the caller delivers it.
    bool add(const std::string& channel, const history::position& at, const frame_ptr& frame);
    /// Stops holding `channel`; returns its frames after `top`, in order, and keeps `top` as
    /// the floor (nullopt when it was not held: the client unsubscribed meanwhile).
    std::optional<std::vector<frame_ptr>> release(const std::string& channel,
                                                  const history::position& top);
    /// Stops holding `channel`, dropping what it held (the client unsubscribed).
    void drop(const std::string& channel);
    /// Bytes of the frames held, counted against the client's queue budget.
    std::size_t bytes() const { return bytes_; }

private:
    struct held_frame {
        history::position at;
        frame_ptr frame;
    };
    struct channel_frames {
        std::string channel;
        bool holding = true;     ///< false: only `floor` is left
        history::position floor;  ///< what the client has, once released
        std::vector<held_frame> frames;
    };
    std::vector<channel_frames>::iterator find(const std::string& channel);
    static bool covered(const history::position& at, const history::position& floor) {
        return at.epoch == floor.epoch && at.offset <= floor.offset;
    }

    std::vector<channel_frames> channels_;
    std::size_t bytes_ = 0;
};

}  // namespace wsgate
