#pragma once

#include <chrono>

namespace wsgate {

/// A token bucket: `rate` tokens per second, holding at most `burst`. I/O-free: the caller
/// passes the time. A take may leave the bucket in debt (a batch of many events needs only one
/// token to start), which later takes then wait out.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(double rate, double burst, clock::time_point now)
        : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

    /// Takes `n` tokens when at least one is available; false (and nothing taken) otherwise.
    bool try_take(clock::time_point now, double n = 1);

    /// How long until a take can succeed (zero when one can now).
    std::chrono::milliseconds wait_time(clock::time_point now);

    /// Tokens in the bucket at `now` (negative while in debt).
    double available(clock::time_point now);

private:
    void refill(clock::time_point now);

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

}  // namespace wsgate
