#pragma once

#include <cstdint>
#include <vector>

namespace wsgate_bench {

// Log-linear histogram of latencies in microseconds: exact below 1024 µs, then 512 buckets per
// power of two (relative error under 0.2%). The maximum is exact.
class latency_histogram {
  public:
    latency_histogram();
    void record(std::int64_t micros);
    // The value at percentile `p` (0..100), the lower bound of its bucket; 0 when empty.
    std::int64_t percentile(double p) const;
    std::int64_t max() const { return max_; }
    std::uint64_t count() const { return count_; }

  private:
    static std::size_t bucket_of(std::uint64_t micros);
    static std::uint64_t bucket_floor(std::size_t bucket);

    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::int64_t max_ = 0;
};

}  // namespace wsgate_bench
