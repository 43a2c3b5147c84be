#pragma once

#include <cstdint>

namespace wsgate {

/// The standard Prometheus process metrics, read from /proc/self.
struct process_stats {
    std::uint64_t resident_memory_bytes = 0;
    double cpu_seconds = 0;
    std::uint64_t open_fds = 0;
    double start_time_seconds = 0;  ///< Unix time
};

process_stats read_process_stats();

}  // namespace wsgate
