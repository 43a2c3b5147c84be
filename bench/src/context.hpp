#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net.hpp"
#include "options.hpp"
#include "report.hpp"

namespace wsgate_bench {

// What every mode needs: the options, the parsed endpoints and the server processes.
struct bench_context {
    bench_options options;
    std::vector<endpoint> ws;
    endpoint api;
    std::vector<int> server_pids;
    std::string channel_prefix;  // unique per run: "bench-<hex>-"
};

// Parses the endpoints and finds the server processes (--pid, else the listeners on the
// WebSocket and API ports). Throws std::invalid_argument on a bad endpoint.
bench_context make_context(const bench_options& options);

// Waits until GET /readyz answers 200 on every WebSocket endpoint (with Redis: every channel
// confirmed subscribed); false when `deadline_ns` passes first.
bool wait_until_ready(const bench_context& context, std::int64_t deadline_ns);

// Server CPU and client CPU over a measurement window that starts at construction.
class resource_meter {
  public:
    explicit resource_meter(const std::vector<int>& server_pids);
    // Adds wall time, CPU of both sides, the time each waited for a CPU (busy machine), the
    // server's peak RSS and the bottleneck verdict for the window ending at `end_ns`; returns
    // the server CPU seconds used in it.
    double report_window(std::int64_t end_ns, report& out) const;

  private:
    std::vector<int> server_pids_;
    std::int64_t start_ns_;
    double server_cpu_start_;
    double server_runq_start_;
    double client_cpu_start_;
    double client_runq_start_;
};

}  // namespace wsgate_bench
