#include <wsgate/session/held_events.hpp>

#include <algorithm>

namespace wsgate {

std::vector<held_events::channel_frames>::iterator held_events::find(const std::string& channel) {
    return std::find_if(channels_.begin(), channels_.end(),
                        [&](const channel_frames& c) { return c.channel == channel; });
}

void held_events::hold(const std::string& channel) {
    if (find(channel) == channels_.end()) channels_.push_back({channel, {}});
}

bool held_events::add(const std::string& channel, std::uint64_t offset, const frame_ptr& frame) {
    auto it = find(channel);
    if (it == channels_.end()) return false;
    it->frames.emplace_back(offset, frame);
    bytes_ += frame->size();
    return true;
}

std::optional<std::vector<frame_ptr>> held_events::release(const std::string& channel,
                                                           std::uint64_t after) {
    auto it = find(channel);
    if (it == channels_.end()) return std::nullopt;
    std::vector<frame_ptr> out;
    for (auto& [offset, frame] : it->frames) {
        bytes_ -= frame->size();
        if (offset > after) out.push_back(std::move(frame));
    }
    channels_.erase(it);
    return out;
}

void held_events::drop(const std::string& channel) { release(channel, UINT64_MAX); }

}  // namespace wsgate
