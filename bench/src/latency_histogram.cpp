#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace wsgate_bench {

namespace {

constexpr std::size_t linear_buckets = 1024;
constexpr std::size_t buckets_per_octave = 512;
constexpr int first_octave = 10;  // 2^10 == linear_buckets
constexpr std::size_t octaves = 64 - first_octave;

}  // namespace

latency_histogram::latency_histogram()
    : counts_(linear_buckets + octaves * buckets_per_octave, 0) {}

std::size_t latency_histogram::bucket_of(std::uint64_t micros) {
    if (micros < linear_buckets) return std::size_t(micros);
    const int octave = 63 - __builtin_clzll(micros);
    const std::uint64_t mantissa = micros >> (octave - 9);  // 512..1023
    return linear_buckets + std::size_t(octave - first_octave) * buckets_per_octave +
           std::size_t(mantissa - buckets_per_octave);
}

std::uint64_t latency_histogram::bucket_floor(std::size_t bucket) {
    if (bucket < linear_buckets) return bucket;
    const std::size_t offset = bucket - linear_buckets;
    const int octave = int(offset / buckets_per_octave) + first_octave;
    const std::uint64_t mantissa = offset % buckets_per_octave + buckets_per_octave;
    return mantissa << (octave - 9);
}

void latency_histogram::record(std::int64_t micros) {
    const std::uint64_t value = micros < 0 ? 0 : std::uint64_t(micros);
    ++counts_[bucket_of(value)];
    ++count_;
    max_ = std::max(max_, std::int64_t(value));
}

std::int64_t latency_histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    const auto rank = std::uint64_t(std::ceil(p / 100.0 * double(count_)));
    std::uint64_t seen = 0;
    for (std::size_t bucket = 0; bucket < counts_.size(); ++bucket) {
        seen += counts_[bucket];
        if (seen >= std::max<std::uint64_t>(rank, 1))
            return std::min(std::int64_t(bucket_floor(bucket)), max_);
    }
    return max_;
}

}  // namespace wsgate_bench
