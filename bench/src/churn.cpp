#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "client_pool.hpp"
#include "modes.hpp"
#include "publisher.hpp"

namespace wsgate_bench {

namespace {

constexpr std::int64_t drain_ns = 3'000'000'000;

// Connections that each loop connect → subscribe → ack → close handshake → connect again.
class churner final : public ws_conn_listener {
  public:
    churner(event_loop& loop, const bench_context& context, int size) : context_(context) {
        for (int i = 0; i < size; ++i) {
            slots_.push_back(std::make_unique<ws_conn>(loop, *this, i));
            to_start_.push_back(i);
        }
    }

    // Starts the connections whose previous cycle ended (never from inside a callback).
    void pump() {
        std::vector<int> starting;
        starting.swap(to_start_);
        for (int index : starting) {
            const endpoint& to = context_.ws[std::size_t(index) % context_.ws.size()];
            const auto source = source_address_for(to, index);
            slots_[std::size_t(index)]->start(to, source ? &*source : nullptr);
        }
    }

    void stop() {
        for (auto& slot : slots_) slot->abort();
        to_start_.clear();
    }

    long connects() const { return connects_; }
    long disconnects() const { return disconnects_; }
    long failures() const { return failures_; }
    const std::string& first_error() const { return first_error_; }

    void on_open(ws_conn& conn) override {
        conn.send_text(subscribe_request(context_, conn.index()));
    }

    void on_text(ws_conn& conn, std::string_view text) override {
        if (text.rfind("{\"type\":\"ack\"", 0) == 0) {
            ++connects_;
            conn.close_gracefully();
        } else if (text.rfind("{\"type\":\"error\"", 0) == 0) {
            note_failure("error frame: " + std::string(text));
        }
    }

    void on_closed(ws_conn& conn, const std::string& error) override {
        if (error.empty())
            ++disconnects_;
        else
            note_failure(error);
        to_start_.push_back(conn.index());
    }

  private:
    void note_failure(const std::string& error) {
        if (failures_++ == 0) first_error_ = error;
    }

    const bench_context& context_;
    std::vector<std::unique_ptr<ws_conn>> slots_;
    std::vector<int> to_start_;
    long connects_ = 0;
    long disconnects_ = 0;
    long failures_ = 0;
    std::string first_error_;
};

// Churns and publishes for --duration, then lets the last deliveries arrive. Returns the end of
// the churn window.
std::int64_t churn_while_publishing(event_loop& loop, churner& churn, publisher& pub,
                                    const delivery_tracker& tracker, const bench_context& context) {
    const std::int64_t churn_end = monotonic_ns() + seconds_to_ns(context.options.duration);
    run_until(
        loop, churn_end,
        [&] {
            churn.pump();
            pub.pump();
            return !pub.error().empty();
        },
        [&] { return pub.next_send_ns(); });
    const std::int64_t end = monotonic_ns();
    churn.stop();
    pub.stop();
    run_until(
        loop, end + seconds_to_ns(context.options.timeout),
        [&] {
            return pub.finished() &&
                   (tracker.complete() || monotonic_ns() > pub.last_answer_ns() + drain_ns);
        },
        [] { return std::int64_t(0); });
    return end;
}

}  // namespace

void run_churn(const bench_context& context, report& out) {
    const bench_options& o = context.options;
    raise_fd_limit();
    event_loop loop;
    delivery_tracker tracker(o.subscribers, o.channels, o.api_connections);
    client_pool subscribers(loop, context, o.subscribers, join::subscribe, &tracker);
    if (!connect_pool(loop, subscribers, context, "subscribers", out)) return;
    if (!wait_until_ready(context, monotonic_ns() + seconds_to_ns(o.timeout)))
        return out.fail("a gateway did not report /readyz 200 within --timeout");
    publisher pub(loop, o, context.api, context.channel_prefix,
                  std::numeric_limits<long>::max() / 2,
                  [&](long seq) { tracker.note_published(seq); });
    if (!pub.connect()) return out.fail(pub.error());
    churner churn(loop, context, o.connections);

    const resource_meter meter(context.server_pids);
    const std::int64_t end = churn_while_publishing(loop, churn, pub, tracker, context);
    meter.report_window(end, out);
    const double seconds = std::max(1e-9, double(end - pub.first_send_ns()) / 1e9);
    out.add_number("churn_connects_per_s", "connects/s (upgrade + subscribe ack)",
                   double(churn.connects()) / seconds, 0);
    out.add_number("churn_disconnects_per_s", "disconnects/s (close handshake)",
                   double(churn.disconnects()) / seconds, 0);
    out.add_number("events_published", "events published", double(pub.events_accepted()));
    report_deliveries(tracker, seconds, out);
    if (churn.failures() > 0)
        out.fail(std::to_string(churn.failures()) +
                 " churning connection(s) failed; first: " + churn.first_error());
    if (!pub.error().empty()) out.fail("publishing failed: " + pub.error());
    report_pool_failures(subscribers, "subscriber", out);
    subscribers.close_all();
}

}  // namespace wsgate_bench
