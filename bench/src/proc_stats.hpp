#pragma once

#include <cstdint>
#include <vector>

namespace wsgate_bench {

// CPU time and memory of the measured server processes, summed over them.
struct server_sample {
    double cpu_seconds = 0;           // utime + stime from /proc/<pid>/stat
    double runq_seconds = 0;          // time runnable but waiting for a CPU (/proc/<pid>/schedstat)
    std::int64_t rss_bytes = 0;       // VmRSS from /proc/<pid>/status
    std::int64_t peak_rss_bytes = 0;  // VmHWM
};

server_sample sample_servers(const std::vector<int>& pids);

// The process listening on TCP `port` (from /proc/net/tcp and /proc/<pid>/fd), or 0.
int find_listener_pid(int port);

// This process's user + system CPU seconds (getrusage).
double own_cpu_seconds();

// Seconds this process has been runnable but waiting for a CPU (/proc/self/schedstat).
double own_runq_seconds();

}  // namespace wsgate_bench
