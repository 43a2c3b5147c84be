#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <wsgate/history/stream.hpp>

namespace wsgate {

/// Why the gateway closed (or saw close) a client connection; a label of wsgate_closes_total.
enum class close_reason { client, shutdown, slow_consumer, binary, too_big, bad_utf8, heartbeat,
                          error, rate_limit, auth_required, auth_failed, token_expired,
                          not_confirmed, close_timeout };
inline constexpr std::size_t close_reason_count = 14;
const char* to_string(close_reason r);

/// Gauges read from the hub (and the services) at scrape time.
struct hub_gauges {
    std::size_t connections = 0;
    std::size_t subscriptions = 0;
    std::size_t channels = 0;
    /// Connections open to each http and websocket service, by service name.
    std::vector<std::pair<std::string, std::size_t>> service_connections;
    /// The embedded engine's history (absent with Redis).
    std::optional<history::memory_usage> history;
};

/// Channel history and exactly-once publishing (docs/history.md).
struct history_metrics {
    std::uint64_t recovered = 0;      ///< subscribes with `recover` that got every missed event
    std::uint64_t not_recovered = 0;  ///< ... that were told recovered:false
    std::uint64_t replayed = 0;       ///< events sent from history (recoveries)
    std::uint64_t duplicates = 0;     ///< publishes answered from an idempotency key
    // The gateway's own repair of its streams (history::stream_repair).
    std::uint64_t stream_repairs = 0;          ///< reads that delivered missed events
    std::uint64_t stream_repaired_events = 0;  ///< events delivered from history by them
    std::uint64_t stream_gaps = 0;             ///< ranges given up, reported to subscribers
    std::uint64_t stream_duplicates = 0;       ///< live events dropped: delivered already
};

/// The Redis bridge's state and counters (shown only when Redis is configured).
struct redis_metrics {
    bool enabled = false;
    bool command_up = false;
    bool subscriber_up = false;
    bool ready = false;
    std::size_t topics = 0;  ///< Pub/Sub channels this instance needs
    std::uint64_t command_reconnects = 0;
    std::uint64_t subscriber_reconnects = 0;
    std::uint64_t published = 0;
    std::uint64_t publish_failures = 0;
    std::uint64_t received = 0;
    std::uint64_t bad_messages = 0;
    double pubsub_lag_seconds = 0;  ///< round trip of the last canary
};

/// The process's counters. Single-threaded like everything on the io_context: plain integers.
struct metrics {
    std::uint64_t connections_accepted = 0;
    std::uint64_t events_published = 0;  ///< accepted over REST
    std::uint64_t events_received = 0;   ///< taken from the bus
    std::uint64_t deliveries = 0;        ///< event frames queued to clients
    std::uint64_t frames_sent = 0;       ///< every frame written to clients
    std::uint64_t bytes_sent = 0;
    std::uint64_t writes = 0;            ///< write system calls to clients (frames leave gathered)
    std::uint64_t slow_consumer_closes = 0;
    std::uint64_t close_timeouts = 0;    ///< connections cut when timeouts.close_ms passed
    std::uint64_t tls_reloads = 0;       ///< TLS certificates reloaded (SIGHUP)
    std::array<std::uint64_t, close_reason_count> closes{};
    std::map<std::pair<std::string, std::string>, std::uint64_t> errors;  ///< (source, code)
    std::map<int, std::uint64_t> http_requests;                            ///< by status
    /// JSON inputs refused for nesting deeper than limits.json_max_depth, by source (rest, ws,
    /// redis, service, webhook, token); each is also an invalid_json error of its source.
    std::map<std::string, std::uint64_t> json_too_deep;
    redis_metrics redis;
    history_metrics history;

    void count_close(close_reason r) { ++closes[static_cast<std::size_t>(r)]; }
    void count_error(std::string_view source, std::string_view code) {
        ++errors[{std::string(source), std::string(code)}];
    }
    void count_too_deep(std::string_view source) { ++json_too_deep[std::string(source)]; }
};

/// The Prometheus text exposition (format 0.0.4) of `m`, `g` and the standard process metrics.
std::string render_prometheus(const metrics& m, const hub_gauges& g);

}  // namespace wsgate
