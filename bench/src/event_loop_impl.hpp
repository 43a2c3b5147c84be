#pragma once

#include <algorithm>

#include "net.hpp"

namespace wsgate_bench {

template <class Done, class NextWake>
bool run_until(event_loop& loop, std::int64_t deadline_ns, Done&& done, NextWake&& next_wake_ns) {
    while (!done()) {
        const std::int64_t now = monotonic_ns();
        if (now >= deadline_ns) return false;
        std::int64_t wake = std::min(deadline_ns, now + 100'000'000);
        const std::int64_t next = next_wake_ns();
        if (next > 0) wake = std::min(wake, next);
        const std::int64_t wait_ns = std::max<std::int64_t>(0, wake - now);
        loop.run_once(int((wait_ns + 999'999) / 1'000'000));
    }
    return true;
}

}  // namespace wsgate_bench
