#include <algorithm>

#include "client_pool.hpp"
#include "modes.hpp"
#include "publisher.hpp"

namespace wsgate_bench {

namespace {

// How long to keep waiting for missing deliveries after the last publish was answered.
constexpr std::int64_t drain_ns = 3'000'000'000;

// Publishes every event and waits until every delivery arrived, or the drain time passed after
// the last answer, or --timeout. Returns when the last delivery arrived.
std::int64_t publish_and_collect(event_loop& loop, publisher& pub, const delivery_tracker& tracker,
                                 const bench_context& context) {
    const std::int64_t deadline = monotonic_ns() + seconds_to_ns(context.options.timeout);
    run_until(
        loop, deadline,
        [&] {
            pub.pump();
            if (!pub.finished()) return false;
            return tracker.complete() || !pub.error().empty() ||
                   monotonic_ns() >
                       std::max(pub.last_answer_ns(), tracker.last_delivery_ns()) + drain_ns;
        },
        [&] { return pub.next_send_ns(); });
    return std::max(tracker.last_delivery_ns(), pub.last_answer_ns());
}

void report_publishing(const publisher& pub, double seconds, report& out) {
    out.add_number("events_published", "events published", double(pub.events_accepted()));
    out.add_number("events_per_s", "events published/s", double(pub.events_accepted()) / seconds,
                   0);
    out.add_number("requests", "publish requests", double(pub.requests_sent()));
    out.add_number("requests_per_s", "publish requests/s", double(pub.requests_sent()) / seconds,
                   0);
    if (!pub.error().empty()) out.fail("publishing failed: " + pub.error());
}

}  // namespace

void run_fanout(const bench_context& context, report& out) {
    const bench_options& o = context.options;
    raise_fd_limit();
    event_loop loop;
    delivery_tracker tracker(o.subscribers, o.channels, o.api_connections);
    client_pool subscribers(loop, context, o.subscribers, join::subscribe, &tracker);
    if (!connect_pool(loop, subscribers, context, "subscribers", out)) return;
    if (!wait_until_ready(context, monotonic_ns() + seconds_to_ns(o.timeout)))
        return out.fail("a gateway did not report /readyz 200 within --timeout");
    publisher pub(loop, o, context.api, context.channel_prefix, o.events,
                  [&](long seq) { tracker.note_published(seq); });
    if (!pub.connect()) return out.fail(pub.error());

    const resource_meter meter(context.server_pids);
    const std::int64_t end = publish_and_collect(loop, pub, tracker, context);
    const double server_cpu = meter.report_window(end, out);
    const double seconds = std::max(1e-9, double(end - pub.first_send_ns()) / 1e9);
    report_publishing(pub, seconds, out);
    report_deliveries(tracker, seconds, out);
    if (server_cpu > 0 && tracker.delivered() > 0)
        out.add_number("server_cpu_us_per_delivery", "server CPU per delivery",
                       server_cpu * 1e6 / double(tracker.delivered()), 3, "us");
    report_pool_failures(subscribers, "subscriber", out);
    subscribers.close_all();
}

}  // namespace wsgate_bench
