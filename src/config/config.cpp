#include <wsgate/config/config.hpp>

#include <wsgate/auth/origin_policy.hpp>
#include <wsgate/limits/proxy_trust.hpp>
#include <wsgate/protocol/client_message.hpp>
#include <wsgate/tls/tls_context.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string_view>

extern char** environ;

namespace wsgate {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view env_prefix = "WSGATE_";

/// One value for one key, from the JSON file or as text from the environment or a flag.
/// Its accessors convert and validate it, and throw config_error naming the key otherwise.
class value {
  public:
    value(std::string key, json raw, bool is_text)
        : key_(std::move(key)), raw_(std::move(raw)), is_text_(is_text) {}

    /// A non-negative integer in [min, max]: a JSON integer, or plain decimal digits as text.
    std::uint64_t integer(std::uint64_t min, std::uint64_t max) const {
        std::optional<std::uint64_t> number;
        if (is_text_) {
            number = parse_digits(raw_.get_ref<const std::string&>());
        } else if (raw_.is_number_unsigned()) {
            number = raw_.get<std::uint64_t>();
        }
        if (!number || *number < min || *number > max) {
            fail("an integer between " + std::to_string(min) + " and " + std::to_string(max));
        }
        return *number;
    }

    /// A duration in milliseconds, written as an integer in [min, max].
    milliseconds duration(std::uint64_t min, std::uint64_t max) const {
        return milliseconds(static_cast<milliseconds::rep>(integer(min, max)));
    }

    /// JSON true/false; as text also 1/0 and yes/no.
    bool boolean() const {
        if (!is_text_) {
            if (!raw_.is_boolean()) fail("true or false");
            return raw_.get<bool>();
        }
        const auto& text = raw_.get_ref<const std::string&>();
        if (text == "true" || text == "1" || text == "yes") return true;
        if (text == "false" || text == "0" || text == "no") return false;
        fail("true or false (also 1/0, yes/no)");
    }

    /// Any string; `what` describes the accepted values in the error message.
    std::string string(const std::string& what) const {
        if (!raw_.is_string()) fail(what);
        return raw_.get<std::string>();
    }

    /// A string accepted by `valid`, described by `what` in the error message.
    std::string string(const std::function<bool(std::string_view)>& valid,
                       const std::string& what) const {
        auto text = string(what);
        if (!valid(text)) fail(what);
        return text;
    }

    /// One of `choices`.
    std::string one_of(const std::vector<std::string>& choices) const {
        std::string what = "one of";
        for (std::size_t i = 0; i < choices.size(); ++i) {
            what += (i == 0 ? " " : ", ") + choices[i];
        }
        return string(
            [&](std::string_view text) {
                return std::find(choices.begin(), choices.end(), text) != choices.end();
            },
            what);
    }

    /// A list of strings each accepted by `valid`: a JSON array, or comma-separated text
    /// (the empty text is the empty list).
    std::vector<std::string> string_list(const std::function<bool(std::string_view)>& valid,
                                         const std::string& what) const {
        std::vector<std::string> items;
        if (is_text_) {
            items = split_commas(raw_.get_ref<const std::string&>());
        } else if (raw_.is_array() && std::all_of(raw_.begin(), raw_.end(),
                                                  [](const json& j) { return j.is_string(); })) {
            items = raw_.get<std::vector<std::string>>();
        } else {
            fail(what);
        }
        if (!std::all_of(items.begin(), items.end(), valid)) fail(what);
        return items;
    }

    /// A JSON array: in the file as it is, as text (environment, flags) parsed from JSON.
    json array(const std::string& what) const {
        json parsed = is_text_ ? json::parse(raw_.get_ref<const std::string&>(), nullptr, false)
                               : raw_;
        if (!parsed.is_array()) fail(what);
        return parsed;
    }

    /// A JSON object: in the file as it is, as text (environment, flags) parsed from JSON.
    json object(const std::string& what) const {
        json parsed = is_text_ ? json::parse(raw_.get_ref<const std::string&>(), nullptr, false)
                               : raw_;
        if (!parsed.is_object()) fail(what);
        return parsed;
    }

    const std::string& key() const { return key_; }

    /// Throws "<key>: must be <what> (got <value as JSON>)".
    [[noreturn]] void fail(const std::string& what) const {
        throw config_error(key_ + ": must be " + what + " (got " +
                           raw_.dump(-1, ' ', false, json::error_handler_t::replace) + ")");
    }

    /// Plain decimal digits (no sign, no spaces) that fit in 64 bits.
    static std::optional<std::uint64_t> parse_digits(std::string_view text) {
        std::uint64_t number = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, number);  // no sign, no spaces
        if (ec != std::errc() || ptr != end) return std::nullopt;
        return number;
    }

  private:
    static std::vector<std::string> split_commas(const std::string& text) {
        std::vector<std::string> items;
        if (text.empty()) return items;
        std::size_t start = 0;
        for (std::size_t comma; (comma = text.find(',', start)) != std::string::npos;) {
            items.push_back(text.substr(start, comma - start));
            start = comma + 1;
        }
        items.push_back(text.substr(start));
        return items;
    }

    std::string key_;
    json raw_;
    bool is_text_;
};

// ---- checks used by the option table ----

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
    auto port = value::parse_digits(text.substr(colon + 1));
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

// <scheme>host[:port][/path] of a service: http:// for webhooks, ws:// for WebSockets.
bool parse_service_url(const std::string& url, std::string_view scheme, service_config& out) {
    if (url.compare(0, scheme.size(), scheme) != 0) return false;
    std::string rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    out.path = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string authority = rest.substr(0, slash);
    if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
        const auto port = value::parse_digits(authority.substr(colon + 1));
        if (!port || *port == 0 || *port > 65535) return false;
        out.port = static_cast<std::uint16_t>(*port);
        authority.resize(colon);
    }
    out.host = authority;
    return !authority.empty() &&
           std::all_of(authority.begin(), authority.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
           }) &&
           std::none_of(out.path.begin(), out.path.end(),
                        [](char c) { return c <= ' ' || c == '#' || c == 127; });
}

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
            s.max_connections = v.integer(1, 1024);
        } else if (field == "max_pending") {
            s.max_pending = v.integer(1, 1000000);
        } else {
            throw config_error(v.key() + ": unknown key");
        }
    }
    if (!spec.contains("transport")) throw config_error(key + ".transport: is required");
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

std::map<std::string, service_config> parse_services(const value& v) {
    std::map<std::string, service_config> services;
    const json all = v.object("an object of services, {\"<name>\": {\"transport\": ...}}");
    for (const auto& [name, spec] : all.items())
        services.emplace(name, parse_service(v.key() + "." + name, name, spec));
    return services;
}

// The `channels` rules: a JSON array of {"pattern", "subscribe", "publish", "check"}.
std::vector<auth::channel_rule> parse_channel_rules(const value& v) {
    const std::string what =
        "an array of rules {\"pattern\": ..., \"subscribe\": ..., \"publish\": ..., "
        "\"check\": ...}";
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
        try {
            tls_context check(c.tls.cert_file, c.tls.key_file);
        } catch (const std::runtime_error& e) {
            throw config_error(std::string("tls: ") + e.what());
        }
    }
    for (const auto& [name, s] : c.services) {
        if (s.transport == "queue" && !c.redis.address)
            throw config_error("services." + name +
                               ".transport: queue needs redis.url (the queue is a Redis Stream)");
    }
}

// ---- the option table ----

/// One configuration key. The table of these drives the JSON file, the environment, the
/// flags and --help.
struct option {
    std::string key;           ///< dotted, e.g. "limits.max_message_bytes"
    std::string default_text;  ///< the default as written on the command line
    std::string description;
    std::function<void(config&, const value&)> set;

    /// WSGATE_ + key upper-cased with '.' replaced by '_'.
    std::string env_name() const {
        std::string name(env_prefix);
        for (char c : key) {
            name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return name;
    }
};

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
         "http://host[:port][/path] asked about subscriptions whose rule has check; empty: none",
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
        {"limits.max_queue_bytes", "1048576",
         "bytes queued for one client before it is closed as a slow consumer (1008)",
         [](config& c, const value& v) {
             c.limits.max_queue_bytes = v.integer(1024, 1024 * 1024 * 1024);
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
         "time allowed for the HTTP request and WebSocket upgrade, and for a close handshake",
         [](config& c, const value& v) { c.timeouts.handshake = v.duration(100, 600000); }},
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
         "redis://[[user]:password@]host[:port][/db] shared by every instance; empty: one "
         "instance on an in-process bus",
         [](config& c, const value& v) {
             c.redis.url = v.string("a redis:// URL or empty");
             c.redis.address.reset();
             if (c.redis.url.empty()) return;
             c.redis.address = parse_redis_url(c.redis.url);
             if (!c.redis.address)
                 v.fail("a URL redis://[[user]:password@]host[:port][/db] (db 0-15)");
         }},
        {"redis.prefix", "wsgate:", "prefix of every Redis Pub/Sub channel wsgate uses",
         [](config& c, const value& v) {
             c.redis.prefix = v.string(is_redis_prefix,
                                       "at most 64 printable ASCII characters without spaces");
         }},
        {"redis.timeout_ms", "1000",
         "limit for connecting to Redis, for each reply, and for the canary's round trip",
         [](config& c, const value& v) { c.redis.timeout = v.duration(50, 60000); }},
        {"redis.reconnect_max_ms", "1000", "longest wait between attempts to reconnect to Redis",
         [](config& c, const value& v) { c.redis.reconnect_max = v.duration(50, 600000); }},
        {"redis.canary_interval_ms", "500",
         "how often a canary message checks the round trip through Redis",
         [](config& c, const value& v) { c.redis.canary_interval = v.duration(50, 600000); }},
        {"services", "{}",
         "backend services clients may send to, as JSON (docs/services.md)",
         [](config& c, const value& v) { c.services = parse_services(v); }},
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

// ---- the layers ----

std::string read_file(const std::string& path) {
    auto fail = [&] {
        throw config_error("--config: cannot read " + path + ": " + std::strerror(errno));
    };
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) fail();
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
        text.append(buffer, n);
    }
    if (std::ferror(file.get())) fail();
    return text;
}

/// Applies the members of a JSON object whose keys are below `prefix` (empty at the top).
void apply_json_object(config& cfg, const json& object, const std::string& prefix) {
    for (const auto& [name, member] : object.items()) {
        std::string key = prefix.empty() ? name : prefix + "." + name;
        if (name.find('.') != std::string::npos) {
            throw config_error(key + ": unknown key (keys nest by their dots)");
        }
        if (const option* opt = find_option(key)) {
            opt->set(cfg, value(opt->key, member, false));
        } else if (!is_section(key)) {
            throw config_error(key + ": unknown key");
        } else if (!member.is_object()) {
            value(key, member, false).fail("an object");
        } else {
            apply_json_object(cfg, member, key);
        }
    }
}

void apply_file(config& cfg, const std::string& path) {
    json document;
    try {
        document = json::parse(read_file(path));
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
        std::string message = e.what();
        // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
        auto bracket = message.find("] ");
        if (message.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) {
            message.erase(0, bracket + 2);
        }
        throw config_error(path + ": invalid JSON: " + message);
    }
    if (!document.is_object()) throw config_error(path + ": must be a JSON object");
    apply_json_object(cfg, document, "");
}

void apply_environment(config& cfg, const std::map<std::string, std::string>& env) {
    for (const auto& [name, text] : env) {
        if (name.compare(0, env_prefix.size(), env_prefix) != 0) continue;
        const option* opt = find_env_option(name);
        if (!opt) throw config_error(name + ": unknown environment variable");
        opt->set(cfg, value(opt->key, text, true));
    }
}

/// The command line split into --config, --help/--version and key flags.
struct command_line {
    config_action action = config_action::run;
    std::optional<std::string> config_path;
    std::vector<std::pair<const option*, std::string>> flags;
};

command_line parse_command_line(const std::vector<std::string>& args) {
    command_line parsed;
    for (const auto& arg : args) {
        if (arg == "--help" || arg == "-h") {
            parsed.action = config_action::help;
            return parsed;
        }
        if (arg == "--version") {
            parsed.action = config_action::version;
            return parsed;
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("-", 0) != 0) throw config_error(arg + ": unexpected argument");
        auto equals = arg.find('=');
        std::string name = arg.substr(0, equals);
        const option* opt = name.rfind("--", 0) == 0 ? find_option(name.substr(2)) : nullptr;
        if (!opt && name != "--config") throw config_error(name + ": unknown option");

        std::string text;
        if (equals != std::string::npos) {
            text = arg.substr(equals + 1);
        } else if (i + 1 < args.size()) {
            text = args[++i];
        } else {
            throw config_error(name + ": needs a value");
        }

        if (opt) {
            parsed.flags.emplace_back(opt, text);
        } else if (parsed.config_path) {
            throw config_error("--config: may be given only once");
        } else {
            parsed.config_path = text;
        }
    }
    return parsed;
}

}  // namespace

load_result load_config(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env) {
    load_result result;
    command_line parsed = parse_command_line(args);
    result.action = parsed.action;
    if (result.action == config_action::run) {
        if (parsed.config_path) apply_file(result.cfg, *parsed.config_path);
        apply_environment(result.cfg, env);
        for (const auto& [opt, text] : parsed.flags) {
            opt->set(result.cfg, value(opt->key, text, true));
        }
    }
    check_across_keys(result.cfg);
    if (result.cfg.server.instance_id.empty()) {
        result.cfg.server.instance_id = random_instance_id();
    }
    return result;
}

std::map<std::string, std::string> wsgate_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        auto equals = text.find('=');
        if (text.rfind(env_prefix, 0) == 0 && equals != std::string_view::npos) {
            env.emplace(text.substr(0, equals), text.substr(equals + 1));
        }
    }
    return env;
}

std::string config_help() {
    std::string help =
        "usage: wsgate [--config PATH] [--<key> VALUE | --<key>=VALUE]...\n"
        "\n"
        "  --config PATH   read a JSON file whose keys nest by their dots\n"
        "  -h, --help      print this help and exit\n"
        "  --version       print the version and exit\n"
        "\n"
        "Keys, each overriding: default < --config file < environment < flag.\n"
        "Lists are comma-separated; booleans are true/false, 1/0 or yes/no.\n";
    for (const auto& opt : options()) {
        std::string shown = opt.default_text.empty() ? "\"\"" : opt.default_text;
        help += "\n  --" + opt.key + " VALUE   default: " + shown + "   env: " + opt.env_name() +
                "\n      " + opt.description + "\n";
    }
    return help;
}

}  // namespace wsgate
