#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include <wsgate/history/stream.hpp>

namespace wsgate::history {

/// The embedded engine's history: per stream (a bus topic, `ch:<channel>` or `user:<id>`) a
/// ring of its newest events, their offsets and its epoch. I/O-free and single-threaded; time
/// is passed in.
///
/// Bounded three ways: each stream keeps at most its policy's `size` events; a stream is
/// forgotten `ttl` after its last event; and all streams together hold at most `budget` bytes
/// (events and bookkeeping), beyond which the streams that would expire first lose their
/// oldest events, then themselves. A forgotten stream starts again at offset 1 in a new epoch,
/// so a client's old position is then reported as not recoverable, never silently wrong.
class memory_history {
public:
    using clock = std::chrono::steady_clock;

    explicit memory_history(std::size_t budget, std::function<std::string()> make_epoch = new_epoch);

    /// Appends `e` to `stream` under `p` (p.on() must hold): sets e.offset and e.epoch, and
    /// returns the stream's new position.
    position append(const std::string& stream, envelope& e, const policy& p, clock::time_point now);

    /// The events of `stream` after offset `after` of `epoch` (at most `limit`, oldest first;
    /// none unless complete). An `epoch` of "" with `after` 0 matches a stream whose history
    /// still starts at offset 1 (see position); `after` from_oldest reads whatever is kept.
    read_result read(const std::string& stream, const std::string& epoch, std::uint64_t after,
                     std::size_t limit, clock::time_point now);

    /// The stream's position now ("" and 0 when it does not exist).
    position current(const std::string& stream, clock::time_point now);

    /// Forgets a stream's history (its next event starts a new epoch); false if there was none.
    bool remove(const std::string& stream);

    std::size_t bytes() const { return bytes_; }
    std::size_t streams() const { return streams_.size(); }
    std::size_t budget() const { return budget_; }
    /// Events dropped to stay within the budget (before their stream's size or ttl).
    std::uint64_t evicted() const { return evicted_; }

private:
    struct stream_state {
        std::string name;
        std::string epoch;
        std::uint64_t top = 0;  ///< offset of the newest event ever appended
        std::deque<std::shared_ptr<const envelope>> events;  ///< offsets top-size+1 .. top
        std::size_t bytes = 0;
        clock::time_point expires;
    };
    using expiry_key = std::pair<clock::time_point, const stream_state*>;

    static std::size_t cost(const envelope& e);
    static std::size_t overhead(const stream_state& s);
    void expire(clock::time_point now);
    void drop_oldest(stream_state& s);
    void forget(stream_state& s);
    void enforce_budget(const stream_state* keep);
    stream_state* find(const std::string& stream, clock::time_point now);

    std::size_t budget_;
    std::function<std::string()> make_epoch_;
    std::unordered_map<std::string, stream_state> streams_;
    /// Streams by expiry, soonest first: what expiry and the budget take from.
    std::set<expiry_key> by_expiry_;
    std::size_t bytes_ = 0;
    std::uint64_t evicted_ = 0;
};

}  // namespace wsgate::history
