#include "config_detail.hpp"

#include <wsgate/auth/origin_policy.hpp>
#include <wsgate/limits/proxy_trust.hpp>
#include <wsgate/protocol/client_message.hpp>
#include <wsgate/session/queue_budget.hpp>
#include <wsgate/support/host_port.hpp>
#include <wsgate/tls/tls_context.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace wsgate::config_detail {


bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_control_or_space(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }

/// "host:port" with an IPv4 address, `localhost` or `[IPv6]` host; the host is stored
/// without brackets.
std::optional<endpoint_config> parse_endpoint(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string host(text.substr(0, colon));
    auto port = parse_decimal(text.substr(colon + 1));
    if (!port || *port > 65535) return std::nullopt;

    unsigned char address[16];
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        if (inet_pton(AF_INET6, host.c_str(), address) != 1) return std::nullopt;
    } else if (host != "localhost" && inet_pton(AF_INET, host.c_str(), address) != 1) {
        return std::nullopt;
    }
    return endpoint_config{host, static_cast<std::uint16_t>(*port)};
}

const std::string endpoint_what =
    "host:port with an IPv4 address, localhost or [IPv6 address] as host and a port 0..65535";

endpoint_config endpoint(const value& v) {
    auto parsed = parse_endpoint(v.string(endpoint_what));
    if (!parsed) v.fail(endpoint_what);
    return *parsed;
}

bool is_ws_path(std::string_view text) {
    return !text.empty() && text.front() == '/' && text.size() <= 256 &&
           std::none_of(text.begin(), text.end(),
                        [](char c) { return is_control_or_space(c) || c == '?' || c == '#'; });
}

bool is_instance_id(std::string_view text) {
    return text.size() <= 32 && std::all_of(text.begin(), text.end(), is_word_char);
}

bool is_channel_chars(std::string_view text) {
    return text.size() <= 64 && std::none_of(text.begin(), text.end(), [](char c) {
               return is_control_or_space(c) || static_cast<unsigned char>(c) > 0x7e || c == '"' ||
                      c == '\\';
           });
}

bool is_api_key(std::string_view text) {
    return !text.empty() && text.size() <= 256 &&
           std::none_of(text.begin(), text.end(), is_control_or_space);
}

std::string random_instance_id() {
    std::random_device device;
    char id[9];
    std::snprintf(id, sizeof id, "%08x", static_cast<unsigned>(device() & 0xffffffffu));
    return id;
}

bool is_redis_prefix(std::string_view s) {
    return s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char ch) {
               return ch > ' ' && ch < 127;
           });
}

// <scheme>host[:port][/path] of a service: http:// for webhooks, ws:// for WebSockets; the
// host a name, an IPv4 address or an IPv6 address in brackets; the port 80 when not given.
bool parse_service_url(const std::string& url, std::string_view scheme, service_config& out) {
    if (url.compare(0, scheme.size(), scheme) != 0) return false;
    std::string rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    out.path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto authority = parse_host_port(std::string_view(rest).substr(0, slash));
    if (!authority) return false;
    out.host = std::move(authority->host);
    out.port = authority->port.value_or(80);
    return std::none_of(out.path.begin(), out.path.end(),
                        [](char c) { return c <= ' ' || c == '#' || c == 127; });
}

namespace {

// One service's object: {"transport": ..., "url": ..., ...}; `key` is "services.<name>".
service_config parse_service(const std::string& key, const std::string& name, const json& spec) {
    if (!protocol::valid_service_name(name))
        throw config_error(key + ": a service name is 1-64 characters of [a-z0-9_-]");
    if (!spec.is_object()) value(key, spec, false).fail("an object");
    service_config s;
    s.name = name;
    for (const auto& [field, member] : spec.items()) {
        const value v(key + "." + field, member, false);
        if (field == "transport") {
            s.transport = v.one_of({"http", "websocket", "queue"});
        } else if (field == "url") {
            s.url = v.string("an http:// or ws:// URL");
        } else if (field == "secret") {
            s.secret = v.string([](std::string_view t) { return t.size() >= 16 && t.size() <= 256; },
                                "a secret of 16-256 characters");
        } else if (field == "timeout_ms") {
            s.timeout = v.duration(100, 600000);
        } else if (field == "max_bytes") {
            s.max_bytes = v.integer(1, 16 * 1024 * 1024);
        } else if (field == "allow") {
            s.users_only = v.one_of({"anyone", "users"}) == "users";
        } else if (field == "max_connections") {
            // Checked below, once the transport is known.
        } else if (field == "max_pending") {
            s.max_pending = v.integer(1, 1000000);
        } else {
            throw config_error(v.key() + ": unknown key");
        }
    }
    if (!spec.contains("transport")) throw config_error(key + ".transport: is required");
    // http: the keep-alive pool (a few busy connections serve many clients); websocket: one
    // upstream WebSocket per client that uses the service, so a far larger default and range.
    const bool per_client = s.transport == "websocket";
    if (per_client) s.max_connections = 1024;
    if (const auto it = spec.find("max_connections"); it != spec.end())
        s.max_connections = value(key + ".max_connections", *it, false)
                                .integer(1, per_client ? 1000000 : 1024);
    // A queue lives in Redis: nothing to reach or sign. Webhooks are http://, upstream sockets ws://.
    if (s.transport == "queue") return s;
    for (const char* required : {"url", "secret"}) {
        if (!spec.contains(required)) throw config_error(key + "." + required + ": is required");
    }
    const bool websocket = s.transport == "websocket";
    const std::string what = websocket ? "a ws://host[:port][/path] URL for transport websocket"
                                       : "an http://host[:port][/path] URL for transport http";
    if (!parse_service_url(s.url, websocket ? "ws://" : "http://", s))
        value(key + ".url", s.url, false).fail(what);
    return s;
}

}  // namespace

std::map<std::string, service_config> parse_services(const value& v) {
    std::map<std::string, service_config> services;
    const json all = v.object("an object of services, {\"<name>\": {\"transport\": ...}}");
    for (const auto& [name, spec] : all.items())
        services.emplace(name, parse_service(v.key() + "." + name, name, spec));
    return services;
}

// A history policy: {"size": events kept, "ttl_ms": how long after the last event}; size 0
// (or no object) is off.
history::policy parse_history_policy(const value& v) {
    const json spec = v.object("an object {\"size\": ..., \"ttl_ms\": ...}");
    history::policy p;
    bool ttl_given = false;
    for (const auto& [field, member] : spec.items()) {
        const value f(v.key() + "." + field, member, false);
        if (field == "size") {
            p.size = f.integer(0, 100000);
        } else if (field == "ttl_ms") {
            p.ttl = f.duration(1000, 30LL * 24 * 3600 * 1000);
            ttl_given = true;
        } else {
            throw config_error(f.key() + ": unknown key");
        }
    }
    if (p.on() && !ttl_given) throw config_error(v.key() + ".ttl_ms: is required with a size");
    return p;
}

// The `channels` rules: a JSON array of {"pattern", "subscribe", "publish", "check", "history"}.
std::vector<auth::channel_rule> parse_channel_rules(const value& v) {
    const std::string what =
        "an array of rules {\"pattern\": ..., \"subscribe\": ..., \"publish\": ..., "
        "\"check\": ..., \"history\": ...}";
    const json all = v.array(what);
    std::vector<auth::channel_rule> rules;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const std::string key = v.key() + "[" + std::to_string(i) + "]";
        const json& spec = all[i];
        if (!spec.is_object()) value(key, spec, false).fail("an object");
        auth::channel_rule rule;
        for (const auto& [field, member] : spec.items()) {
            const value f(key + "." + field, member, false);
            if (field == "pattern") {
                rule.pattern = f.string("a channel pattern (with * and {sub})");
            } else if (field == "subscribe" || field == "publish") {
                const auto chosen = f.one_of({"anyone", "users", "owner", "claim", "nobody"});
                (field == "subscribe" ? rule.subscribe : rule.publish) = auth::parse_access(chosen);
            } else if (field == "check") {
                rule.check = f.boolean();
            } else if (field == "history") {
                rule.history = parse_history_policy(f);
            } else {
                throw config_error(f.key() + ": unknown key");
            }
        }
        if (!spec.contains("pattern")) throw config_error(key + ".pattern: is required");
        rules.push_back(std::move(rule));
    }
    try {
        auth::channel_policy check(rules);
    } catch (const std::invalid_argument& e) {
        throw config_error(v.key() + ": " + e.what());
    }
    return rules;
}

std::string read_key_file(const value& v) {
    const std::string path = v.string("a file name");
    if (path.empty()) return {};
    std::ifstream file(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!file.good() && !file.eof())
        throw config_error(v.key() + ": cannot read " + path + ": " + std::strerror(errno));
    if (!file.is_open())
        throw config_error(v.key() + ": cannot read " + path + ": " + std::strerror(errno));
    return text;
}

/// Rules that involve several keys, checked once every layer is applied.
void check_across_keys(const config& c) {
    const auto& a = c.auth;
    if (!a.jwt.algorithm.empty()) {
        try {
            auth::jwt_verifier check(a.jwt);
        } catch (const std::invalid_argument& e) {
            throw config_error(std::string("auth.jwt: ") + e.what());
        }
    } else if (!a.anonymous) {
        throw config_error(
            "auth.anonymous: false needs auth.jwt.algorithm (or no client could connect)");
    }
    const bool checks = std::any_of(c.channels.begin(), c.channels.end(),
                                    [](const auth::channel_rule& r) { return r.check; });
    if (checks && a.subscribe_check.url.empty())
        throw config_error("channels: a rule with \"check\" needs auth.subscribe_check.url");
    if (!a.subscribe_check.url.empty() && a.subscribe_check.webhook.secret.empty())
        throw config_error("auth.subscribe_check.secret: is required with auth.subscribe_check.url");
    if (c.tls.cert_file.empty() != c.tls.key_file.empty())
        throw config_error("tls.cert_file and tls.key_file: give both or neither");
    if (c.tls.api && !c.tls.enabled()) throw config_error("tls.api: true needs tls.cert_file");
    if (c.tls.api && !c.server.separate_api)
        throw config_error("tls.api: true needs server.api_listen (else the API is on "
                           "server.listen, which tls.cert_file already covers)");
    if (c.tls.enabled()) {
        // The gateway reads both files again, and may fail there too (a file replaced in
        // between): it throws config_error for that as well.
        try {
            tls_context check(c.tls.cert_file, c.tls.key_file);
        } catch (const std::runtime_error& e) {
            throw config_error(e.what());  // "tls: private key '<file>': <reason>"
        }
    }
    // Anything the API accepts must be deliverable to an idle, fast client.
    const auto& l = c.limits;
    const auto needed =
        queue_budget::required_queue_bytes(l.max_body_bytes, l.max_batch_events, c.tls.enabled());
    if (l.max_queue_bytes < needed)
        throw config_error(
            "limits.max_queue_bytes: must be at least " + std::to_string(needed) +
            " (limits.max_body_bytes, plus " + std::to_string(queue_budget::event_frame_overhead) +
            " bytes of frame for each of limits.max_batch_events" +
            (c.tls.enabled() ? ", plus TLS write-ahead" : "") +
            "), or a publish the API accepts could close every client that receives it; got " +
            std::to_string(l.max_queue_bytes));
    for (const auto& [name, s] : c.services) {
        if (s.transport == "queue" && !c.redis.address)
            throw config_error("services." + name +
                               ".transport: queue needs redis.url (the queue is a Redis Stream)");
    }
}

}  // namespace wsgate::config_detail
