#include <wsgate/limits/token_bucket.hpp>

#include <algorithm>
#include <cmath>

namespace wsgate {

void token_bucket::refill(clock::time_point now) {
    if (now <= last_) return;
    const std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    last_ = now;
}

bool token_bucket::try_take(clock::time_point now, double n) {
    refill(now);
    if (tokens_ < 1) return false;
    tokens_ -= n;
    return true;
}

std::chrono::milliseconds token_bucket::wait_time(clock::time_point now) {
    refill(now);
    if (tokens_ >= 1 || rate_ <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<long long>(std::ceil((1 - tokens_) / rate_ * 1000)));
}

double token_bucket::available(clock::time_point now) {
    refill(now);
    return tokens_;
}

}  // namespace wsgate
