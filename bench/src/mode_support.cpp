#include "client_pool.hpp"
#include "modes.hpp"

namespace wsgate_bench {

std::int64_t seconds_to_ns(double seconds) { return std::int64_t(seconds * 1e9); }

bool connect_pool(event_loop& loop, client_pool& pool, const bench_context& context,
                  const std::string& what, report& out) {
    const std::int64_t start = monotonic_ns();
    const bool settled = run_until(
        loop, start + seconds_to_ns(context.options.timeout),
        [&] {
            pool.pump();
            return pool.settled();
        },
        [] { return std::int64_t(0); });
    const double seconds = double(monotonic_ns() - start) / 1e9;
    out.add_number(what + "_connected", what + " connected", pool.ready());
    out.add_number(what + "_connect_per_s", what + " connect rate", pool.ready() / seconds, 0,
                   "/s");
    report_pool_failures(pool, what, out);
    if (!settled)
        out.fail(what + ": only " + std::to_string(pool.ready()) + " of " +
                 std::to_string(pool.size()) + " ready after --timeout");
    return settled && pool.failures() == 0;
}

void report_deliveries(const delivery_tracker& tracker, double seconds, report& out) {
    const auto& latency = tracker.latency();
    out.add_number("deliveries", "deliveries", double(tracker.delivered()));
    out.add_number("deliveries_per_s", "deliveries/s", double(tracker.delivered()) / seconds, 0);
    out.add_number("latency_p50_us", "latency p50", double(latency.percentile(50)), 0, "us");
    out.add_number("latency_p99_us", "latency p99", double(latency.percentile(99)), 0, "us");
    out.add_number("latency_p999_us", "latency p99.9", double(latency.percentile(99.9)), 0, "us");
    out.add_number("latency_max_us", "latency max", double(latency.max()), 0, "us");
    out.add_number("lost", "lost", double(tracker.lost()));
    out.add_number("duplicated", "duplicated", double(tracker.duplicates()));
    out.add_number("out_of_order", "out of order", double(tracker.out_of_order()));
    if (tracker.lost() > 0) out.fail(std::to_string(tracker.lost()) + " deliveries lost");
    if (tracker.duplicates() > 0)
        out.fail(std::to_string(tracker.duplicates()) + " deliveries duplicated");
}

}  // namespace wsgate_bench
