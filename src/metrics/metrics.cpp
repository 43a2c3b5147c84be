#include <wsgate/metrics/metrics.hpp>

#include <wsgate/metrics/process_stats.hpp>

#include <iomanip>
#include <sstream>
#include <type_traits>

namespace wsgate {

const char* to_string(close_reason r) {
    switch (r) {
        case close_reason::client: return "client";
        case close_reason::shutdown: return "shutdown";
        case close_reason::slow_consumer: return "slow_consumer";
        case close_reason::binary: return "binary";
        case close_reason::too_big: return "too_big";
        case close_reason::bad_utf8: return "bad_utf8";
        case close_reason::heartbeat: return "heartbeat";
        case close_reason::error: return "error";
        case close_reason::rate_limit: return "rate_limit";
        case close_reason::auth_required: return "auth_required";
        case close_reason::auth_failed: return "auth_failed";
        case close_reason::token_expired: return "token_expired";
        case close_reason::not_confirmed: return "not_confirmed";
        case close_reason::close_timeout: return "close_timeout";
    }
    return "error";
}

namespace {

class exposition {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
    template <class T>
    void sample(const char* name, T value, const std::string& labels = {}) {
        out_ << name;
        if (!labels.empty()) out_ << '{' << labels << '}';
        out_ << ' ';
        if constexpr (std::is_floating_point_v<T>)
            out_ << std::fixed << std::setprecision(6) << value << std::defaultfloat;
        else
            out_ << value;
        out_ << '\n';
    }
    template <class T>
    void single(const char* name, const char* type, const char* help, T value) {
        family(name, type, help);
        sample(name, value);
    }
    std::string str() const { return out_.str(); }

private:
    std::ostringstream out_;
};

// Label values here are our own codes, never client input, so no escaping is needed.
std::string label(const char* key, const std::string& value) {
    return std::string(key) + "=\"" + value + '"';
}

void render_redis(exposition& x, const redis_metrics& r) {
    x.family("wsgate_redis_up", "gauge", "1 while the Redis connection is up.");
    x.sample("wsgate_redis_up", int(r.command_up), label("connection", "command"));
    x.sample("wsgate_redis_up", int(r.subscriber_up), label("connection", "subscriber"));
    x.family("wsgate_redis_reconnects_total", "counter", "Redis connections lost.");
    x.sample("wsgate_redis_reconnects_total", r.command_reconnects, label("connection", "command"));
    x.sample("wsgate_redis_reconnects_total", r.subscriber_reconnects,
             label("connection", "subscriber"));
    x.single("wsgate_redis_ready", "gauge",
             "1 while both connections are up, every topic subscribed and the canary returns.",
             int(r.ready));
    x.single("wsgate_redis_topics", "gauge", "Pub/Sub channels this instance needs.", r.topics);
    x.single("wsgate_redis_published_total", "counter", "Events Redis accepted (PUBLISH).",
             r.published);
    x.single("wsgate_redis_publish_failures_total", "counter",
             "Events Redis did not accept (answered 503).", r.publish_failures);
    x.single("wsgate_redis_received_total", "counter", "Events received from Redis.",
             r.received);
    x.single("wsgate_redis_bad_messages_total", "counter",
             "Malformed messages received from Redis and dropped.", r.bad_messages);
    x.single("wsgate_pubsub_lag_seconds", "gauge",
             "Round trip of the last canary through Redis Pub/Sub.", r.pubsub_lag_seconds);
}

}  // namespace

std::string render_prometheus(const metrics& m, const hub_gauges& g) {
    exposition x;
    x.single("wsgate_connections", "gauge", "Open client WebSocket connections.", g.connections);
    x.single("wsgate_connections_accepted_total", "counter",
             "Client WebSocket connections accepted.", m.connections_accepted);
    x.single("wsgate_subscriptions", "gauge", "Channel subscriptions of all clients.",
             g.subscriptions);
    x.single("wsgate_channels", "gauge", "Channels with at least one local subscriber.",
             g.channels);
    x.single("wsgate_events_published_total", "counter", "Events accepted over REST.",
             m.events_published);
    x.single("wsgate_events_received_total", "counter", "Events taken from the bus.",
             m.events_received);
    x.single("wsgate_deliveries_total", "counter", "Event frames queued to clients.",
             m.deliveries);
    x.single("wsgate_frames_sent_total", "counter", "Frames written to clients.", m.frames_sent);
    x.single("wsgate_bytes_sent_total", "counter", "Bytes written to clients.", m.bytes_sent);
    x.single("wsgate_writes_total", "counter",
             "Socket writes to clients; each carries every frame queued at the time.", m.writes);
    x.single("wsgate_slow_consumer_closes_total", "counter",
             "Clients closed because their backlog passed limits.max_queue_bytes.",
             m.slow_consumer_closes);
    x.single("wsgate_close_timeouts_total", "counter",
             "Connections cut because closing took longer than timeouts.close_ms.",
             m.close_timeouts);
    x.single("wsgate_tls_reloads_total", "counter",
             "TLS certificates reloaded on SIGHUP (failures: wsgate_errors_total{source=\"tls\"}).",
             m.tls_reloads);

    const auto& h = m.history;
    x.family("wsgate_recoveries_total", "counter",
             "Subscribes with recover: every missed event sent (recovered) or not.");
    x.sample("wsgate_recoveries_total", h.recovered, label("result", "recovered"));
    x.sample("wsgate_recoveries_total", h.not_recovered, label("result", "not_recovered"));
    x.single("wsgate_history_replayed_total", "counter", "Events sent to clients from history.",
             h.replayed);
    x.single("wsgate_idempotent_duplicates_total", "counter",
             "Publishes answered from an earlier one with the same idempotency key.",
             h.duplicates);
    x.single("wsgate_stream_repairs_total", "counter",
             "Reads of history by this instance that delivered events it had missed.",
             h.stream_repairs);
    x.single("wsgate_stream_repaired_events_total", "counter",
             "Events this instance delivered from history after missing them live.",
             h.stream_repaired_events);
    x.single("wsgate_stream_gaps_total", "counter",
             "Ranges of a channel's events this instance could not recover (a gap frame).",
             h.stream_gaps);
    x.single("wsgate_stream_duplicates_dropped_total", "counter",
             "Live events dropped because this instance had delivered them from history.",
             h.stream_duplicates);
    if (g.history) {
        x.single("wsgate_history_bytes", "gauge",
                 "Memory the embedded engine's history holds (history.memory_bytes at most).",
                 g.history->bytes);
        x.single("wsgate_history_streams", "gauge", "Streams with history in memory.",
                 g.history->streams);
        x.single("wsgate_history_evicted_total", "counter",
                 "History events dropped early to stay within history.memory_bytes.",
                 g.history->evicted);
    }

    x.family("wsgate_service_connections", "gauge",
             "Connections open to each backend service (http: its keep-alive pool; websocket: "
             "upstream WebSockets, at most its max_connections).");
    for (const auto& [name, open] : g.service_connections)
        x.sample("wsgate_service_connections", open, label("service", name));

    x.family("wsgate_closes_total", "counter", "Client connections closed, by reason.");
    for (std::size_t i = 0; i < close_reason_count; ++i)
        x.sample("wsgate_closes_total", m.closes[i],
                 label("reason", to_string(static_cast<close_reason>(i))));

    x.family("wsgate_errors_total", "counter", "Rejected input, by source and error code.");
    for (const auto& [key, count] : m.errors)
        x.sample("wsgate_errors_total", count,
                 label("source", key.first) + ',' + label("code", key.second));

    x.family("wsgate_json_too_deep_total", "counter",
             "JSON inputs refused for nesting deeper than limits.json_max_depth, by source.");
    for (const auto& [source, count] : m.json_too_deep)
        x.sample("wsgate_json_too_deep_total", count, label("source", source));

    x.family("wsgate_http_requests_total", "counter", "REST requests answered, by status.");
    for (const auto& [status, count] : m.http_requests)
        x.sample("wsgate_http_requests_total", count, label("status", std::to_string(status)));

    if (m.redis.enabled) render_redis(x, m.redis);

    const process_stats p = read_process_stats();
    x.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
             p.resident_memory_bytes);
    x.single("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.",
             p.cpu_seconds);
    x.single("process_open_fds", "gauge", "Open file descriptors.", p.open_fds);
    x.single("process_start_time_seconds", "gauge", "Start time since the Unix epoch in seconds.",
             p.start_time_seconds);
    return x.str();
}

}  // namespace wsgate
