#include "delivery_tracker.hpp"

#include <cstring>
#include <string>

namespace wsgate_bench {

namespace {

// The non-negative integer after `key` in `text`, searching from `from`; -1 when absent.
std::int64_t integer_after(std::string_view text, std::string_view key, std::size_t from) {
    const auto at = text.find(key, from);
    if (at == std::string_view::npos) return -1;
    std::int64_t value = 0;
    std::size_t i = at + key.size();
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return -1;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
        value = value * 10 + (text[i] - '0');
    return value;
}

std::string stamp_object(const event_stamp& stamp, std::size_t pad) {
    return "{\"c\":" + std::to_string(stamp.stream) + ",\"pad\":\"" + std::string(pad, 'x') +
           "\",\"seq\":" + std::to_string(stamp.seq) + ",\"t\":" + std::to_string(stamp.sent_ns) +
           "}";
}

}  // namespace

std::string event_data(const event_stamp& stamp, int size) {
    const std::size_t bare = stamp_object(stamp, 0).size();
    return stamp_object(stamp, std::size_t(size) > bare ? std::size_t(size) - bare : 0);
}

bool parse_event_stamp(std::string_view frame, event_stamp& stamp) {
    constexpr std::string_view event_prefix = "{\"type\":\"event\"";
    if (frame.substr(0, event_prefix.size()) != event_prefix) return false;
    const auto data = frame.find("\"data\":{\"c\":");
    if (data == std::string_view::npos) return false;
    const std::int64_t stream = integer_after(frame, "\"c\":", data);
    const std::int64_t seq = integer_after(frame, "\"seq\":", data);
    const std::int64_t sent = integer_after(frame, "\"t\":", data);
    if (stream < 0 || seq < 0 || sent < 0) return false;
    stamp.stream = int(stream);
    stamp.seq = long(seq);
    stamp.sent_ns = sent;
    return true;
}

delivery_tracker::delivery_tracker(int subscribers, int channels, int streams)
    : channels_(channels),
      streams_(streams),
      subscribers_per_channel_(std::size_t(channels), 0),
      seen_(std::size_t(subscribers)),
      last_seq_(std::size_t(subscribers) * std::size_t(streams), -1) {
    for (int i = 0; i < subscribers; ++i) ++subscribers_per_channel_[std::size_t(i % channels)];
}

void delivery_tracker::note_published(long seq) {
    expected_ += subscribers_per_channel_[std::size_t(seq % channels_)];
}

void delivery_tracker::record(int subscriber, const event_stamp& stamp, std::int64_t now_ns) {
    if (stamp.stream >= streams_ || stamp.seq % channels_ != subscriber % channels_) return;
    auto& seen = seen_[std::size_t(subscriber)];
    const auto slot = std::size_t(stamp.seq / channels_);
    if (slot >= seen.size()) seen.resize(slot * 2 + 64, false);
    if (seen[slot]) {
        ++duplicates_;
        return;
    }
    seen[slot] = true;
    ++delivered_;
    long& last =
        last_seq_[std::size_t(subscriber) * std::size_t(streams_) + std::size_t(stamp.stream)];
    if (stamp.seq < last)
        ++out_of_order_;
    else
        last = stamp.seq;
    last_delivery_ns_ = now_ns;
    latency_.record((now_ns - stamp.sent_ns) / 1000);
}

}  // namespace wsgate_bench
