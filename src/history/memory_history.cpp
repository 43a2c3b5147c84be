#include <wsgate/history/memory_history.hpp>

#include <cassert>
#include <random>

namespace wsgate::history {

namespace {
// What an event costs besides its strings: the envelope, its shared_ptr block, the ring slot.
constexpr std::size_t event_overhead = sizeof(envelope) + 64;
// What a stream costs besides its events: its map node, name, epoch and expiry entry.
constexpr std::size_t stream_overhead = 160;
}  // namespace

std::string new_epoch() {
    // Not a secret, only different per incarnation: a random_device-seeded generator, once.
    static std::mt19937_64 random{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::uniform_int_distribution<int> pick(0, 35);
    std::string out(8, '0');
    for (auto& c : out) c = digits[pick(random)];
    return out;
}

memory_history::memory_history(std::size_t budget, std::function<std::string()> make_epoch)
    : budget_(budget), make_epoch_(std::move(make_epoch)) {}

std::size_t memory_history::cost(const envelope& e) {
    return event_overhead + e.id.size() + e.origin.size() + e.target.size() + e.event.size() +
           e.data.size() + e.service.size() + e.reply_id.size() + e.epoch.size();
}

std::size_t memory_history::overhead(const stream_state& s) {
    return stream_overhead + s.name.size() + s.epoch.size();
}

position memory_history::append(const std::string& stream, envelope& e, const policy& p,
                                clock::time_point now) {
    assert(p.on());
    expire(now);
    auto [it, created] = streams_.try_emplace(stream);
    stream_state& s = it->second;
    if (created) {
        s.name = stream;
        s.epoch = make_epoch_();
        s.bytes = overhead(s);
        bytes_ += s.bytes;
    } else {
        by_expiry_.erase({s.expires, &s});
    }
    e.offset = ++s.top;
    e.epoch = s.epoch;
    auto stored = std::make_shared<const envelope>(e);
    const std::size_t c = cost(*stored);
    s.events.push_back(std::move(stored));
    s.bytes += c;
    bytes_ += c;
    while (s.events.size() > p.size) drop_oldest(s);
    s.expires = now + p.ttl;
    by_expiry_.insert({s.expires, &s});
    enforce_budget(&s);
    return {s.epoch, s.top};
}

void memory_history::drop_oldest(stream_state& s) {
    const std::size_t c = cost(*s.events.front());
    s.events.pop_front();
    s.bytes -= c;
    bytes_ -= c;
}

void memory_history::forget(stream_state& s) {
    by_expiry_.erase({s.expires, &s});
    bytes_ -= s.bytes;
    streams_.erase(s.name);  // destroys s
}

void memory_history::expire(clock::time_point now) {
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
        forget(*const_cast<stream_state*>(by_expiry_.begin()->second));
}

void memory_history::enforce_budget(const stream_state* keep) {
    // The streams that would expire first give up their oldest events first; the stream just
    // appended to keeps at least its newest event.
    auto it = by_expiry_.begin();
    while (bytes_ > budget_ && it != by_expiry_.end()) {
        auto& s = *const_cast<stream_state*>(it->second);
        ++it;
        while (bytes_ > budget_ && s.events.size() > (&s == keep ? 1u : 0u)) {
            drop_oldest(s);
            ++evicted_;
        }
        // Its position alone is not worth keeping when memory is short: forgetting it gives
        // the next event a new epoch, which tells every client that history was lost.
        if (bytes_ > budget_ && &s != keep) forget(s);
    }
}

memory_history::stream_state* memory_history::find(const std::string& stream,
                                                   clock::time_point now) {
    expire(now);
    auto it = streams_.find(stream);
    return it == streams_.end() ? nullptr : &it->second;
}

read_result memory_history::read(const std::string& stream, const std::string& epoch,
                                 std::uint64_t after, std::size_t limit, clock::time_point now) {
    read_result out;
    const stream_state* s = find(stream, now);
    if (s == nullptr) {
        // Nothing is kept: only a client that had seen nothing of any epoch has missed nothing.
        out.complete = (epoch.empty() && after == 0) || after == from_oldest;
        return out;
    }
    out.top = {s->epoch, s->top};
    const std::uint64_t first = s->top - s->events.size() + 1;  // oldest offset kept
    if (after == from_oldest) return read(stream, s->epoch, first - 1, limit, now);
    const bool same_epoch = epoch == s->epoch || (epoch.empty() && after == 0 && first == 1);
    if (!same_epoch || after > s->top || after + 1 < first) return out;
    out.complete = true;
    const std::size_t skip = static_cast<std::size_t>(after + 1 - first);
    for (std::size_t i = skip; i < s->events.size() && out.events.size() < limit; ++i)
        out.events.push_back(s->events[i]);
    return out;
}

position memory_history::current(const std::string& stream, clock::time_point now) {
    const stream_state* s = find(stream, now);
    if (s == nullptr) return {};
    return {s->epoch, s->top};
}

bool memory_history::remove(const std::string& stream) {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return false;
    forget(it->second);
    return true;
}

}  // namespace wsgate::history
