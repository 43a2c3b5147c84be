#include <algorithm>

#include "client_pool.hpp"
#include "modes.hpp"
#include "publisher.hpp"

namespace wsgate_bench {

// Clients coming back after missing events: --events events are published first (to channels
// whose rule keeps history), then --subscribers clients connect at once, each subscribing with
// `recover` from the channel's first event. Measured: the time from the first connect until
// every client has its "recovered":true ack and every event, once and in order.
void run_recover(const bench_context& context, report& out) {
    const bench_options& o = context.options;
    raise_fd_limit();
    event_loop loop;
    delivery_tracker tracker(o.subscribers, o.channels, o.api_connections);
    if (!wait_until_ready(context, monotonic_ns() + seconds_to_ns(o.timeout)))
        return out.fail("a gateway did not report /readyz 200 within --timeout");

    // The gap: published while nobody is connected.
    publisher pub(loop, o, context.api, context.channel_prefix, o.events,
                  [&](long seq) { tracker.note_published(seq); });
    if (!pub.connect()) return out.fail(pub.error());
    const bool published = run_until(
        loop, monotonic_ns() + seconds_to_ns(o.timeout),
        [&] {
            pub.pump();
            return pub.finished();
        },
        [&] { return pub.next_send_ns(); });
    if (!published || !pub.error().empty())
        return out.fail("publishing the gap failed: " +
                        (pub.error().empty() ? std::string("timeout") : pub.error()));
    out.add_number("events_published", "events published (the gap)", double(pub.events_accepted()));

    client_pool clients(loop, context, o.subscribers, join::recover, &tracker);
    const resource_meter meter(context.server_pids);
    const std::int64_t start = monotonic_ns();
    const bool done = run_until(
        loop, start + seconds_to_ns(o.timeout),
        [&] {
            clients.pump();
            return clients.settled() && tracker.complete();
        },
        [] { return std::int64_t(0); });
    const std::int64_t end = monotonic_ns();
    meter.report_window(end, out);
    const double seconds = std::max(1e-9, double(end - start) / 1e9);
    out.add_number("recover_seconds", "all connected and recovered in", seconds, 3, "s");
    out.add_number("subscribers_connected", "subscribers recovered", clients.ready());
    out.add_number("deliveries", "events replayed", double(tracker.delivered()));
    out.add_number("deliveries_per_s", "replayed/s", double(tracker.delivered()) / seconds, 0);
    out.add_number("lost", "lost", double(tracker.lost()));
    out.add_number("duplicated", "duplicated", double(tracker.duplicates()));
    out.add_number("out_of_order", "out of order", double(tracker.out_of_order()));
    if (tracker.lost() > 0 || tracker.duplicates() > 0 || tracker.out_of_order() > 0)
        out.fail("replayed events lost, duplicated or out of order");
    if (!done) out.fail("not every subscriber recovered within --timeout");
    report_pool_failures(clients, "subscriber", out);
    clients.close_all();
}

}  // namespace wsgate_bench
