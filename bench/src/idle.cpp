#include <algorithm>

#include "client_pool.hpp"
#include "modes.hpp"
#include "proc_stats.hpp"

namespace wsgate_bench {

namespace {

// Time given to the server after the last handshake before its RSS is read.
constexpr double settle_seconds = 1.0;

// Runs the loop (answering pings) for `seconds`, or less if a client fails.
void hold(event_loop& loop, const client_pool& pool, double seconds) {
    const long failures_before = pool.failures();
    run_until(
        loop, monotonic_ns() + seconds_to_ns(seconds),
        [&] { return pool.failures() > failures_before; }, [] { return std::int64_t(0); });
}

double mib(std::int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

}  // namespace

void run_idle(const bench_context& context, report& out) {
    const bench_options& o = context.options;
    const long fd_limit = raise_fd_limit();
    if (fd_limit < o.connections + 64)
        return out.fail("--connections " + std::to_string(o.connections) +
                        " needs more descriptors than RLIMIT_NOFILE allows (" +
                        std::to_string(fd_limit) + ")");
    if (context.server_pids.empty())
        out.fail("server process not found (give --pid): no RSS figures");
    event_loop loop;
    client_pool clients(loop, context, o.connections, join::welcome, nullptr);
    const server_sample before = sample_servers(context.server_pids);
    if (!connect_pool(loop, clients, context, "connections", out)) return clients.close_all();
    hold(loop, clients, settle_seconds);
    const server_sample after = sample_servers(context.server_pids);
    hold(loop, clients, std::max(0.0, o.duration - settle_seconds));

    out.add_number("server_rss_before_mib", "server RSS before", mib(before.rss_bytes), 1, "MiB");
    out.add_number("server_rss_after_mib", "server RSS after", mib(after.rss_bytes), 1, "MiB");
    out.add_number("rss_per_connection_bytes", "server RSS per connection",
                   double(after.rss_bytes - before.rss_bytes) / std::max(1, clients.ready()), 0,
                   "bytes");
    out.add_number("server_peak_rss_mib", "server peak RSS (VmHWM)", mib(after.peak_rss_bytes), 1,
                   "MiB");
    report_pool_failures(clients, "held", out);
    clients.close_all();
}

}  // namespace wsgate_bench
