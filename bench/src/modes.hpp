#pragma once

#include <cstdint>
#include <string>

#include "context.hpp"
#include "event_loop.hpp"
#include "report.hpp"

namespace wsgate_bench {

class client_pool;
class delivery_tracker;

// Each mode runs against the gateway, adds its figures to `out`, and calls out.fail() for
// everything that should make the exit status non-zero.
void run_fanout(const bench_context& context, report& out);
void run_idle(const bench_context& context, report& out);
void run_churn(const bench_context& context, report& out);
void run_recover(const bench_context& context, report& out);

// Connects the pool and waits for it to settle; adds the connect rate to `out`. False (with a
// failure in `out`) when a connection failed or the deadline passed.
bool connect_pool(event_loop& loop, client_pool& pool, const bench_context& context,
                  const std::string& what, report& out);

// Adds deliveries, their rate and latency, and the loss checks, to `out`.
void report_deliveries(const delivery_tracker& tracker, double seconds, report& out);

std::int64_t seconds_to_ns(double seconds);

}  // namespace wsgate_bench
