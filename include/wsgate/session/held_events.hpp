#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <wsgate/protocol/frame.hpp>

namespace wsgate {

/// One client's live events on channels whose subscribe is reading the channel's history:
/// held until the read is answered, then released after the events the history gave, without
/// those it already had. This is how a recovery merges history and live events with no gap and
/// no duplicate: live events arrive in offset order, the history ends at a known offset.
/// I/O-free; a client holds a few channels at most, so a flat list does.
class held_events {
public:
    void hold(const std::string& channel);
    bool empty() const { return channels_.empty(); }
    /// Holds `frame` when `channel` is held (true); false otherwise.
    bool add(const std::string& channel, std::uint64_t offset, const frame_ptr& frame);
    /// Stops holding `channel`; returns its frames with an offset above `after`, in order
    /// (nullopt when it was not held: the client unsubscribed meanwhile).
    std::optional<std::vector<frame_ptr>> release(const std::string& channel, std::uint64_t after);
    /// Stops holding `channel`, dropping what it held (the client unsubscribed).
    void drop(const std::string& channel);
    /// Bytes of the frames held, counted against the client's queue budget.
    std::size_t bytes() const { return bytes_; }

private:
    struct channel_frames {
        std::string channel;
        std::vector<std::pair<std::uint64_t, frame_ptr>> frames;
    };
    std::vector<channel_frames>::iterator find(const std::string& channel);

    std::vector<channel_frames> channels_;
    std::size_t bytes_ = 0;
};

}  // namespace wsgate
