#include "config_detail.hpp"

#include <wsgate/auth/origin_policy.hpp>
#include <wsgate/limits/proxy_trust.hpp>

#include <algorithm>

namespace wsgate::config_detail {

const std::vector<option>& options() {
    static const std::vector<option> table = {
        {"server.listen", "0.0.0.0:8080", "public listener (host:port; port 0 picks a free port)",
         [](config& c, const value& v) { c.server.listen = endpoint(v); }},
        {"server.api_listen", "",
         "separate listener for the REST API and /metrics; empty: served on server.listen",
         [](config& c, const value& v) {
             c.server.separate_api = !v.string(endpoint_what).empty();
             c.server.api_listen = c.server.separate_api ? endpoint(v) : endpoint_config{};
         }},
        {"server.ws_path", "/ws", "path of the WebSocket endpoint",
         [](config& c, const value& v) {
             c.server.ws_path = v.string(is_ws_path,
                                         "a path starting with '/', at most 256 characters, "
                                         "without spaces, '?' or '#'");
         }},
        {"server.instance_id", "", "prefix of connection and event ids; empty: random 8 hex digits",
         [](config& c, const value& v) {
             c.server.instance_id =
                 v.string(is_instance_id, "at most 32 letters, digits or '_' (empty: random)");
         }},
        {"server.allowed_origins", "",
         "origins (scheme://host[:port], *.domain wildcards, or *) allowed to open WebSockets; "
         "empty: any",
         [](config& c, const value& v) {
             c.server.allowed_origins = v.string_list(
                 auth::valid_origin_entry,
                 "a list of origins like https://app.example.com or https://*.example.com, or *");
         }},
        {"server.trusted_proxies", "",
         "proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client address",
         [](config& c, const value& v) {
             c.server.trusted_proxies = v.string_list(
                 [](std::string_view t) { return parse_address_range(t).has_value(); },
                 "a list of IP addresses or CIDR ranges like 10.0.0.0/8");
         }},
        {"log.level", "info", "trace, debug, info, warn, error, critical or off",
         [](config& c, const value& v) {
             c.log.level = v.one_of({"trace", "debug", "info", "warn", "error", "critical", "off"});
         }},
        {"log.format", "text", "text, or json for one JSON object per line",
         [](config& c, const value& v) {
             c.log.format = v.one_of({"text", "json"});
         }},
        {"auth.api_keys", "",
         "keys backends send as 'Authorization: Bearer <key>'; empty: the REST API is open",
         [](config& c, const value& v) {
             c.auth.api_keys = v.string_list(
                 is_api_key,
                 "a list of non-empty keys of at most 256 characters without whitespace");
         }},
        {"auth.insecure_dev_user", "false",
         "let clients claim a user id with ?user= (development only)",
         [](config& c, const value& v) { c.auth.insecure_dev_user = v.boolean(); }},
        {"auth.anonymous", "true",
         "let clients connect without a token (they reach only channels open to anyone)",
         [](config& c, const value& v) { c.auth.anonymous = v.boolean(); }},
        {"auth.jwt.algorithm", "", "HS256, RS256 or ES256: accept client JWTs; empty: no tokens",
         [](config& c, const value& v) {
             c.auth.jwt.algorithm = v.one_of({"", "HS256", "RS256", "ES256"});
         }},
        {"auth.jwt.secret", "", "HS256 shared secret (at least 32 bytes)",
         [](config& c, const value& v) { c.auth.jwt.secret = v.string("a string"); }},
        {"auth.jwt.public_key_file", "", "RS256/ES256 public key, a PEM file (BEGIN PUBLIC KEY)",
         [](config& c, const value& v) {
             c.auth.jwt.public_key_pem = read_key_file(v);
             c.auth.jwt_public_key_file = v.string("a file name");
         }},
        {"auth.jwt.issuer", "", "when set, tokens must carry this iss",
         [](config& c, const value& v) { c.auth.jwt.issuer = v.string("a string"); }},
        {"auth.jwt.audience", "", "when set, tokens' aud must contain this",
         [](config& c, const value& v) { c.auth.jwt.audience = v.string("a string"); }},
        {"auth.jwt.leeway_ms", "30000", "clock skew allowed on exp and nbf (whole seconds count)",
         [](config& c, const value& v) {
             c.auth.jwt.leeway =
                 std::chrono::duration_cast<std::chrono::seconds>(v.duration(0, 3600000));
         }},
        {"auth.jwt.channels_claim", "channels",
         "claim listing the channel patterns a token grants (rules with access claim)",
         [](config& c, const value& v) {
             c.auth.jwt.channels_claim = v.string(
                 [](std::string_view t) { return !t.empty() && t.size() <= 64; },
                 "a claim name of 1-64 characters");
         }},
        {"auth.subscribe_check.url", "",
         "http://host[:port][/path] (an IPv6 host in brackets) asked about subscriptions whose "
         "rule has check; empty: none",
         [](config& c, const value& v) {
             auto& sc = c.auth.subscribe_check;
             sc.url = v.string("an http:// URL or empty");
             sc.webhook.url = sc.url;
             if (!sc.url.empty() && !parse_service_url(sc.url, "http://", sc.webhook))
                 v.fail("an http://host[:port][/path] URL");
         }},
        {"auth.subscribe_check.secret", "", "HMAC-SHA256 key signing subscribe-check requests",
         [](config& c, const value& v) {
             c.auth.subscribe_check.webhook.secret = v.string(
                 [](std::string_view t) { return t.empty() || (t.size() >= 16 && t.size() <= 256); },
                 "a secret of 16-256 characters");
         }},
        {"auth.subscribe_check.timeout_ms", "2000",
         "how long a subscribe waits for the webhook (then it is refused)",
         [](config& c, const value& v) {
             c.auth.subscribe_check.webhook.timeout = v.duration(100, 60000);
         }},
        {"auth.subscribe_check.cache_ms", "30000",
         "how long an answer is kept per user and channel (denials at most 5 s); 0: not kept",
         [](config& c, const value& v) { c.auth.subscribe_check.cache = v.duration(0, 86400000); }},
        {"channels", R"([{"pattern":"*","subscribe":"anyone","publish":"nobody"}])",
         "channel rules, as JSON: who may subscribe and publish (docs/security.md)",
         [](config& c, const value& v) { c.channels = parse_channel_rules(v); }},
        {"limits.max_message_bytes", "65536",
         "largest message a client may send (larger closes with 1009)",
         [](config& c, const value& v) {
             c.limits.max_message_bytes = v.integer(256, 64 * 1024 * 1024);
         }},
        {"limits.max_queue_bytes", "2097152",
         "backlog one client may have (bytes queued before a new message) before it is closed "
         "as a slow consumer (1008); at least what one accepted publish can make",
         [](config& c, const value& v) {
             c.limits.max_queue_bytes = v.integer(4096, 1024 * 1024 * 1024);
         }},
        {"limits.max_subscriptions", "128", "channels one connection may subscribe to",
         [](config& c, const value& v) { c.limits.max_subscriptions = v.integer(1, 100000); }},
        {"limits.max_channel_length", "128", "longest channel name",
         [](config& c, const value& v) { c.limits.max_channel_length = v.integer(1, 1024); }},
        {"limits.channel_chars",
         "-_.:@/=", "characters allowed in channel names besides ASCII letters and digits",
         [](config& c, const value& v) {
             c.limits.channel_chars =
                 v.string(is_channel_chars,
                          "at most 64 printable ASCII characters other than space, '\"' and '\\'");
         }},
        {"limits.max_body_bytes", "1048576", "largest REST request body (413 beyond)",
         [](config& c, const value& v) {
             c.limits.max_body_bytes = v.integer(1024, 256 * 1024 * 1024);
         }},
        {"limits.max_batch_events", "1000", "most events in one batch publish",
         [](config& c, const value& v) { c.limits.max_batch_events = v.integer(1, 100000); }},
        {"limits.json_max_depth", "64",
         "how deeply arrays and objects may nest in data (and any value) of a JSON input",
         [](config& c, const value& v) { c.limits.json_max_depth = v.integer(1, 1000); }},
        {"limits.max_connections", "100000", "WebSocket clients at once (503 beyond); 0: no limit",
         [](config& c, const value& v) { c.limits.max_connections = v.integer(0, 10000000); }},
        {"limits.max_connections_per_ip", "1000",
         "WebSocket clients at once from one address (429 beyond); 0: no limit",
         [](config& c, const value& v) {
             c.limits.max_connections_per_ip = v.integer(0, 10000000);
         }},
        {"limits.message_rate", "100",
         "messages per second one client may send on average (token bucket)",
         [](config& c, const value& v) {
             c.limits.message_rate = static_cast<double>(v.integer(1, 1000000));
         }},
        {"limits.message_burst", "200",
         "messages a client may send at once above its rate; as many refused closes it (1008)",
         [](config& c, const value& v) {
             c.limits.message_burst = static_cast<double>(v.integer(1, 1000000));
         }},
        {"limits.publish_rate", "0",
         "events per second one API key may publish (429 beyond); 0: no limit",
         [](config& c, const value& v) {
             c.limits.publish_rate = static_cast<double>(v.integer(0, 100000000));
         }},
        {"limits.publish_burst", "1000", "events an API key may publish at once above its rate",
         [](config& c, const value& v) {
             c.limits.publish_burst = static_cast<double>(v.integer(1, 100000000));
         }},
        {"timeouts.handshake_ms", "5000",
         "time allowed for the HTTP request (and TLS handshake) of a WebSocket upgrade",
         [](config& c, const value& v) { c.timeouts.handshake = v.duration(100, 600000); }},
        {"timeouts.welcome_ms", "5000",
         "time from the upgrade to the welcome: an auth message when tokens are required "
         "(else close 4001), the bus confirming the user's topic (else close 1013)",
         [](config& c, const value& v) { c.timeouts.welcome = v.duration(100, 600000); }},
        {"timeouts.close_ms", "5000",
         "time from a close frame queued to the socket closed (close handshake, flushing, the "
         "peer's FIN); the connection is cut after it",
         [](config& c, const value& v) { c.timeouts.close = v.duration(100, 600000); }},
        {"timeouts.http_idle_ms", "30000", "how long an idle REST keep-alive connection is kept",
         [](config& c, const value& v) { c.timeouts.http_idle = v.duration(100, 3600000); }},
        {"websocket.permessage_deflate", "true",
         "accept permessage-deflate (RFC 7692, no context takeover) when a client offers it",
         [](config& c, const value& v) { c.websocket.permessage_deflate = v.boolean(); }},
        {"websocket.deflate_min_bytes", "128",
         "messages shorter than this are sent uncompressed even to clients that negotiated it",
         [](config& c, const value& v) {
             c.websocket.deflate_min_bytes = v.integer(0, 64 * 1024 * 1024);
         }},
        {"tls.cert_file", "",
         "PEM certificate chain: server.listen serves wss:// and https:// (SIGHUP reloads it)",
         [](config& c, const value& v) { c.tls.cert_file = v.string("a file path"); }},
        {"tls.key_file", "", "PEM private key of tls.cert_file (not encrypted)",
         [](config& c, const value& v) { c.tls.key_file = v.string("a file path"); }},
        {"tls.api", "false", "server.api_listen uses TLS too (otherwise it stays plain)",
         [](config& c, const value& v) { c.tls.api = v.boolean(); }},
        {"heartbeat.interval_ms", "25000",
         "ping a client after this long without a frame from it; close it after twice as long",
         [](config& c, const value& v) { c.heartbeat.interval = v.duration(100, 3600000); }},
        {"redis.url", "",
         "redis://[[user]:password@]host[:port][/db] (an IPv6 host in brackets) shared by every "
         "instance; empty: one instance on an in-process bus",
         [](config& c, const value& v) {
             c.redis.url = v.string("a redis:// URL or empty");
             c.redis.address.reset();
             if (c.redis.url.empty()) return;
             c.redis.address = parse_redis_url(c.redis.url);
             if (!c.redis.address)
                 v.fail("a URL redis://[[user]:password@]host[:port][/db] (db 0-15, an IPv6 "
                        "host in brackets)");
         }},
        {"redis.prefix", "wsgate:", "prefix of every Redis Pub/Sub channel wsgate uses",
         [](config& c, const value& v) {
             c.redis.prefix = v.string(is_redis_prefix,
                                       "at most 64 printable ASCII characters without spaces");
         }},
        {"redis.timeout_ms", "1000",
         "limit for connecting to Redis (name lookup, connect, AUTH, SELECT), for its silence "
         "while a reply is awaited, and for the canary's round trip",
         [](config& c, const value& v) { c.redis.timeout = v.duration(50, 60000); }},
        {"redis.reconnect_max_ms", "1000", "longest wait between attempts to reconnect to Redis",
         [](config& c, const value& v) { c.redis.reconnect_max = v.duration(50, 600000); }},
        {"redis.canary_interval_ms", "500",
         "how often a canary message checks the round trip through Redis",
         [](config& c, const value& v) { c.redis.canary_interval = v.duration(50, 600000); }},
        {"services", "{}",
         "backend services clients may send to, as JSON (docs/services.md)",
         [](config& c, const value& v) { c.services = parse_services(v); }},
        {"history.memory_bytes", "67108864",
         "what the embedded engine's channel history may hold in all (docs/history.md)",
         [](config& c, const value& v) {
             c.history.memory_bytes = v.integer(64 * 1024, std::uint64_t(1) << 40);
         }},
        {"history.idempotency_window_ms", "300000",
         "how long a publish's idempotency_key makes a retry return the first answer",
         [](config& c, const value& v) {
             c.history.idempotency_window = v.duration(1000, 7LL * 24 * 3600 * 1000);
         }},
        {"history.idempotency_keys", "100000",
         "idempotency keys the embedded engine remembers at most (the oldest goes first)",
         [](config& c, const value& v) { c.history.idempotency_keys = v.integer(1, 100000000); }},
        {"history.max_replay", "1000",
         "events one recovery or history request returns at most",
         [](config& c, const value& v) { c.history.max_replay = v.integer(1, 100000); }},
        {"history.repair_timeout_ms", "10000",
         "with Redis: how long an instance retries reading events it missed before it reports "
         "them as a gap",
         [](config& c, const value& v) { c.history.repair_timeout = v.duration(100, 600000); }},
        {"history.user_size", "0",
         "events kept of each user's stream, for a user's reconnect to recover them (0: user "
         "events keep no history)",
         [](config& c, const value& v) { c.history.user_size = v.integer(0, 100000); }},
        {"history.user_ttl_ms", "600000",
         "how long a user's stream lives after its last event",
         [](config& c, const value& v) {
             c.history.user_ttl = v.duration(1000, 30LL * 24 * 3600 * 1000);
         }},
        {"shutdown.drain_ms", "10000",
         "on SIGTERM/SIGINT, time allowed to close every client and flush",
         [](config& c, const value& v) { c.shutdown.drain = v.duration(0, 600000); }},
        {"shutdown.reconnect_max_ms", "5000",
         "upper bound of the reconnect delay suggested to clients at shutdown",
         [](config& c, const value& v) { c.shutdown.reconnect_max = v.duration(0, 3600000); }},
    };
    return table;
}

const option* find_option(std::string_view key) {
    for (const auto& opt : options()) {
        if (opt.key == key) return &opt;
    }
    return nullptr;
}

const option* find_env_option(std::string_view name) {
    for (const auto& opt : options()) {
        if (opt.env_name() == name) return &opt;
    }
    return nullptr;
}

/// True when `prefix` is a section such as "limits", i.e. some key starts with "limits.".
bool is_section(const std::string& prefix) {
    return std::any_of(options().begin(), options().end(), [&](const option& opt) {
        return opt.key.compare(0, prefix.size() + 1, prefix + ".") == 0;
    });
}

}  // namespace wsgate::config_detail
