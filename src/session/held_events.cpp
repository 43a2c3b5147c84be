#include <wsgate/session/held_events.hpp>

#include <algorithm>

namespace wsgate {

std::vector<held_events::channel_frames>::iterator held_events::find(const std::string& channel) {
    return std::find_if(channels_.begin(), channels_.end(),
                        [&](const channel_frames& c) { return c.channel == channel; });
}

void held_events::hold(const std::string& channel) {
    auto it = find(channel);
    if (it == channels_.end())
        channels_.push_back({channel, true, {}, {}});
    else
        it->holding = true;
}

bool held_events::add(const std::string& channel, const history::position& at,
                      const frame_ptr& frame) {
    auto it = find(channel);
    if (it == channels_.end()) return false;
    if (!it->holding) {
        if (covered(at, it->floor)) return true;  // the history had it
        channels_.erase(it);  // past the floor: everything after this is newer still
        return false;
    }
    it->frames.push_back({at, frame});
    bytes_ += frame->size();
    return true;
}

std::optional<std::vector<frame_ptr>> held_events::release(const std::string& channel,
                                                           const history::position& top) {
    auto it = find(channel);
    if (it == channels_.end() || !it->holding) return std::nullopt;
    std::vector<frame_ptr> out;
    for (auto& f : it->frames) {
        bytes_ -= f.frame->size();
        if (!covered(f.at, top)) out.push_back(std::move(f.frame));
    }
    it->frames.clear();
    it->holding = false;
    it->floor = top;
    // Something newer was held: whatever comes later is newer still, no floor is needed.
    if (!out.empty() || top.offset == 0) channels_.erase(it);
    return out;
}

void held_events::drop(const std::string& channel) {
    auto it = find(channel);
    if (it == channels_.end()) return;
    for (auto& f : it->frames) bytes_ -= f.frame->size();
    channels_.erase(it);
}

}  // namespace wsgate
