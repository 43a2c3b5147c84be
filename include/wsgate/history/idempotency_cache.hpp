#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include <wsgate/history/stream.hpp>

namespace wsgate::history {

/// The first answer to a publish, as a retry with the same idempotency key gets it again.
struct first_answer {
    std::string id;      ///< the event id
    position at;  ///< its offset and epoch ("" and 0 without history)
};

/// The embedded engine's memory of idempotency keys: key → first answer, for `window` after
/// the first publish. Bounded: at most `capacity` keys, the oldest forgotten first (a retry
/// after that publishes again, as after the window). I/O-free; time is passed in.
class idempotency_cache {
public:
    using clock = std::chrono::steady_clock;

    idempotency_cache(std::chrono::milliseconds window, std::size_t capacity)
        : window_(window), capacity_(capacity) {}

    /// The first answer for `key`, when it was published within the window.
    const first_answer* find(const std::string& key, clock::time_point now);
    /// Remembers the answer for a key published now (find() returned nothing for it).
    void remember(const std::string& key, first_answer answer, clock::time_point now);

    std::size_t size() const { return entries_.size(); }

private:
    struct entry {
        first_answer answer;
        clock::time_point expires;
    };
    void expire(clock::time_point now);

    std::chrono::milliseconds window_;
    std::size_t capacity_;
    std::unordered_map<std::string, entry> entries_;
    /// Keys in the order they were remembered: the window is the same for all, so the front
    /// expires first.
    std::deque<std::string> order_;
};

}  // namespace wsgate::history
