#include <wsgate/api/rest_api.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include <wsgate/json/json_reader.hpp>

#include <wsgate/metrics/metrics.hpp>

namespace wsgate {

namespace {

using json = nlohmann::json;

constexpr std::size_t max_event_name = 128;

struct route_match {
    std::string_view path;
    std::string_view allow;  ///< methods, as in the Allow header
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_json_media_type(std::string_view content_type) {
    return iequals(trim(content_type.substr(0, content_type.find(';'))), "application/json");
}

// Compares without an early exit, so response times do not reveal how much of a key matched.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i % b.size()]);
    return diff == 0 && !b.empty();
}

}  // namespace

std::string_view bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() ||
        !iequals(authorization.substr(0, scheme.size()), scheme))
        return {};
    return trim(authorization.substr(scheme.size()));
}

namespace {

// Error messages quote the request (its path, a field name cut to 64 bytes), which need not be
// valid UTF-8: replace what is not (U+FFFD) rather than throw out of the handler.
rest_response json_response(int status, const json& body) {
    rest_response r;
    r.status = status;
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
}

struct publish_error {
    std::string code;
    std::string message;
};

}  // namespace

rest_response error_response(metrics& stats, int status, std::string_view code,
                             std::string_view message, std::string_view source) {
    stats.count_error(source, code);
    return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

namespace {

// status 0: no answer yet, go on.
rest_response no_answer() {
    rest_response r;
    r.status = 0;
    return r;
}

// Adds fields to an error response: inside its "error" object, and beside it.
void annotate(rest_response& r, const json& inside, const json& beside) {
    auto body = json::parse(r.body);
    if (inside.is_object()) body["error"].update(inside);
    if (beside.is_object()) body.update(beside);
    r.body = body.dump();
}

constexpr const char* target_keys[] = {"channel", "user", "connection", "broadcast",
                                      "reply_to"};

bool is_target_key(const std::string& key) {
    return std::find(std::begin(target_keys), std::end(target_keys), key) != std::end(target_keys);
}

bool is_string(const json_input::member& m) { return m.value.type == json_input::kind::string; }

// The one target of a publish: channel, user, connection, broadcast, or reply_to (one client
// request, answered as a reply). `max_depth`: how deeply reply_to may nest (it is an object).
std::optional<publish_error> parse_target(const json_input::object& j,
                                          const protocol::name_rules& names,
                                          std::size_t max_depth, envelope& out) {
    if (const auto* b = j.find("broadcast")) {
        if (b->value.type != json_input::kind::boolean || !b->boolean)
            return publish_error{"invalid_target", "broadcast must be true"};
        out.kind = target_kind::broadcast;
        return std::nullopt;
    }
    std::string value;
    std::string key;
    if (const auto* reply_to = j.find("reply_to")) {
        const publish_error bad{"invalid_target",
                                "reply_to must be {\"connection\": <id>, \"id\": <request id>}"};
        if (reply_to->value.type != json_input::kind::object) return bad;
        // Read again from its text: the body's check covered it already.
        auto inner = json_input::read_object(reply_to->value.text, max_depth);
        const auto* fields = std::get_if<json_input::object>(&inner);
        if (fields == nullptr) return bad;
        const auto* connection = fields->find("connection");
        const auto* id = fields->find("id");
        if (connection == nullptr || id == nullptr ||
            !protocol::valid_request_id(id->value, id->string))
            return bad;
        if (!is_string(*connection))
            return publish_error{"invalid_target", "connection must be a string"};
        out.frame = frame_kind::reply;
        out.reply_id = std::string(id->value.text);  // echoed exactly as the client sent it
        value = connection->string;
        key = "connection";
    } else {
        for (const char* k : {"channel", "user", "connection"}) {
            if (const auto* found = j.find(k)) {
                if (!is_string(*found))
                    return publish_error{"invalid_target", std::string(k) + " must be a string"};
                value = found->string;
                key = k;
            }
        }
    }
    out.target = std::move(value);
    out.kind = key == "channel" ? target_kind::channel
               : key == "user"  ? target_kind::user
                                : target_kind::connection;
    if (!names.valid(out.target))
        return out.kind == target_kind::channel
                   ? publish_error{"invalid_channel", names.describe("channel")}
                   : publish_error{"invalid_target", names.describe(key)};
    return std::nullopt;
}

// What the clients get: an event (named), or, with `service`, a message or reply from it.
std::optional<publish_error> parse_content(const json_input::object& j, envelope& out) {
    const auto* event = j.find("event");
    if (const auto* service = j.find("service")) {
        if (!is_string(*service) || !protocol::valid_service_name(service->string))
            return publish_error{"invalid_service",
                                 "service must be 1-64 characters of [a-z0-9_-]"};
        if (event != nullptr)
            return publish_error{"invalid_body", "a service's message has no event name"};
        out.service = service->string;
        if (out.frame == frame_kind::event) out.frame = frame_kind::message;
    } else if (out.frame == frame_kind::reply) {
        return publish_error{"invalid_service", "a reply needs the service it comes from"};
    } else {
        if (event == nullptr || !is_string(*event) || event->string.empty() ||
            event->string.size() > max_event_name)
            return publish_error{"invalid_event", "event must be a string of 1-128 characters"};
        out.event = event->string;
    }
    // Passed through exactly as the publisher wrote it (docs/openapi.yaml): never re-serialized.
    const auto* data = j.find("data");
    out.data = data == nullptr ? "null" : std::string(data->value.text);
    return std::nullopt;
}

constexpr const char* idempotency_key_rule =
    "idempotency_key must be 1-128 printable ASCII characters";

bool valid_idempotency_key(std::string_view k) {
    return !k.empty() && k.size() <= 128 &&
           std::all_of(k.begin(), k.end(), [](char c) { return c > ' ' && c < 127; });
}

// The 202 answer: the id (and with history the offset and epoch) of each event; a retry of an
// idempotency key gets the first publish's, and "duplicate": true.
json publish_answer(const std::vector<bus::publish_result>& results, bool batch) {
    auto place = [](json& out, const bus::publish_result& r) {
        if (r.at.offset != 0) {
            out["offset"] = r.at.offset;
            out["epoch"] = r.at.epoch;
        }
        if (r.duplicate) out["duplicate"] = true;
    };
    if (!batch) {
        json out = {{"id", results[0].id}};
        place(out, results[0]);
        return out;
    }
    json ids = json::array(), events = json::array();
    bool detailed = false;
    for (const auto& r : results) {
        ids.push_back(r.id);
        json one = {{"id", r.id}};
        place(one, r);
        detailed |= one.size() > 1;
        events.push_back(std::move(one));
    }
    json out = {{"ids", std::move(ids)}};
    if (detailed) out["events"] = std::move(events);
    return out;
}

// Validates one publish object into `out` (and its idempotency_key into `key`); the event id
// is assigned later.
std::optional<publish_error> parse_publish(const json_input::object& j,
                                           const protocol::name_rules& names,
                                           std::size_t max_depth, envelope& out,
                                           std::string& key) {
    int targets = 0;
    for (const auto& m : j.members) {
        if (is_target_key(m.key)) {
            ++targets;
        } else if (m.key == "idempotency_key") {
            if (m.value.type != json_input::kind::string || !valid_idempotency_key(m.string))
                return publish_error{"invalid_body", idempotency_key_rule};
            key = m.string;
        } else if (m.key != "event" && m.key != "data" && m.key != "service") {
            return publish_error{"invalid_body", "unknown field '" + m.key.substr(0, 64) + "'"};
        }
    }
    if (targets != 1)
        return publish_error{"invalid_target",
                             "give exactly one of channel, user, connection, broadcast, reply_to"};
    if (auto bad = parse_target(j, names, max_depth, out)) return bad;
    return parse_content(j, out);
}

}  // namespace

rest_response rest_api::error(int status, std::string_view code, std::string_view message,
                              std::string_view source) {
    return error_response(state_.stats, status, code, message, source);
}

void rest_api::handle(const rest_request& req, listener_role role, responder respond) {
    if (auto r = route(req, role); r.status != 0) return respond(std::move(r));
    if (req.path == "/api/v1/history") return history(req, std::move(respond));
    const bool batch = req.path == "/api/v1/publish/batch";
    token_bucket* bucket = publish_bucket(req);
    const auto now = token_bucket::clock::now();
    if (bucket != nullptr) {
        if (auto wait = bucket->wait_time(now); wait.count() > 0) return respond(rate_limited(wait));
    }
    std::vector<envelope> events;
    std::vector<std::string> in_body, keys;
    if (auto bad = parse_events(req, batch, events, in_body); bad.status != 0)
        return respond(std::move(bad));
    if (auto bad = idempotency_keys(req, batch, in_body, keys); bad.status != 0)
        return respond(std::move(bad));
    if (bucket != nullptr) bucket->try_take(now, static_cast<double>(events.size()));
    publish(std::move(events), std::move(keys), batch, std::move(respond));
}

rest_response rest_api::idempotency_keys(const rest_request& req, bool batch,
                                         const std::vector<std::string>& in_body,
                                         std::vector<std::string>& out) {
    const std::string_view header = trim(req.idempotency_key);
    if (!req.idempotency_key.empty() && !valid_idempotency_key(header))
        return error(400, "invalid_body",
                     "the Idempotency-Key header must be 1-128 printable ASCII characters");
    out = in_body;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (header.empty()) continue;
        // A batch's header names the whole request: each event is one part of it.
        const std::string from_header =
            batch ? std::string(header) + "#" + std::to_string(i) : std::string(header);
        if (!out[i].empty() && out[i] != from_header)
            return error(400, "invalid_body",
                         "the Idempotency-Key header and the body's idempotency_key differ");
        out[i] = from_header;
    }
    return no_answer();
}

token_bucket* rest_api::publish_bucket(const rest_request& req) {
    const auto& limits = state_.cfg.limits;
    if (limits.publish_rate <= 0) return nullptr;
    // check_post() let the request through: it holds one of the keys, or the API is open ("").
    std::string key;
    if (!state_.cfg.auth.api_keys.empty()) key = std::string(bearer_token(req.authorization));
    auto found = state_.publish_buckets.find(key);
    if (found == state_.publish_buckets.end())
        found = state_.publish_buckets
                    .emplace(std::move(key), token_bucket(limits.publish_rate, limits.publish_burst,
                                                          token_bucket::clock::now()))
                    .first;
    return &found->second;
}

rest_response rest_api::rate_limited(std::chrono::milliseconds wait) {
    const auto seconds = (wait.count() + 999) / 1000;
    auto r = error(429, "rate_limited",
                   "this API key may publish " +
                       std::to_string(static_cast<long long>(state_.cfg.limits.publish_rate)) +
                       " events per second; retry after " + std::to_string(seconds) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    return r;
}

// Everything but publishing itself: an answer, or status 0 for a publish that may go ahead.
rest_response rest_api::route(const rest_request& req, listener_role role) {
    const bool api = role != listener_role::public_only;
    const bool ws = role != listener_role::api_only;
    const bool get = req.method == "GET" || req.method == "HEAD";

    std::optional<route_match> match;
    if (req.path == "/healthz" || req.path == "/readyz")
        match = route_match{req.path, "GET, HEAD"};
    else if (api && req.path == "/metrics")
        match = route_match{req.path, "GET, HEAD"};
    else if (api && (req.path == "/api/v1/publish" || req.path == "/api/v1/publish/batch"))
        match = route_match{req.path, "POST"};
    else if (api && req.path == "/api/v1/history")
        match = route_match{req.path, "GET, HEAD, DELETE"};
    else if (ws && req.path == state_.cfg.server.ws_path)
        match = route_match{req.path, "GET"};
    if (!match) return error(404, "not_found", "no such resource: " + std::string(req.path));

    const bool post_route = match->allow == "POST";
    const bool history_route = req.path == "/api/v1/history";
    const bool allowed = post_route      ? req.method == "POST"
                         : history_route ? get || req.method == "DELETE"
                                         : get;
    if (!allowed) {
        auto r = error(405, "method_not_allowed",
                       std::string(req.method) + " is not allowed on " + std::string(req.path));
        r.headers.emplace_back("Allow", std::string(match->allow));
        return r;
    }

    if (req.path == "/healthz") return json_response(200, {{"status", "ok"}});
    if (req.path == "/readyz") {
        if (state_.draining) return json_response(503, {{"status", "draining"}});
        if (state_.events == nullptr || !state_.events->ready())
            return json_response(503, {{"status", "not_ready"}});
        return json_response(200, {{"status", "ready"}});
    }
    if (req.path == "/metrics") {
        const auto& hub = state_.clients;
        rest_response r;
        r.content_type = "text/plain; version=0.0.4";
        hub_gauges gauges{hub.connections(), hub.subscriptions(), hub.channels(), {}, {}};
        for (const auto& [name, svc] : state_.services)
            if (svc->config().transport != "queue")  // a queue holds no connection of its own
                gauges.service_connections.emplace_back(name, svc->open_connections());
        if (state_.events != nullptr) gauges.history = state_.events->history_memory();
        r.body = render_prometheus(state_.stats, gauges);
        return r;
    }
    if (req.path == state_.cfg.server.ws_path) {
        // A 426 names the protocol to upgrade to (RFC 7231 6.5.15), with the "upgrade"
        // connection option an Upgrade header needs (RFC 7230 6.7), and the WebSocket version.
        auto r = error(426, "upgrade_required", "this endpoint takes WebSocket upgrades only");
        r.headers.emplace_back("Upgrade", "websocket");
        r.headers.emplace_back("Connection", "Upgrade");
        r.headers.emplace_back("Sec-WebSocket-Version", "13");
        return r;
    }
    if (history_route) return check_key(req);
    return check_post(req);
}

// Authorization and content type of a POST to the API; status 0 when both are fine.
rest_response rest_api::check_post(const rest_request& req) {
    if (auto r = check_key(req); r.status != 0) return r;
    if (!is_json_media_type(req.content_type))
        return error(415, "unsupported_media_type", "Content-Type must be application/json");
    return no_answer();
}

// The API key of a request to the API (when keys are configured); status 0 when it is fine.
rest_response rest_api::check_key(const rest_request& req) {
    const auto& keys = state_.cfg.auth.api_keys;
    if (!keys.empty()) {
        const auto presented = bearer_token(req.authorization);
        bool ok = false;
        if (!presented.empty()) {
            for (const auto& key : keys) ok |= same_secret(presented, key);
        }
        if (!ok) {
            auto r = error(401, "unauthorized", "a valid API key is required (Bearer token)");
            r.headers.emplace_back("WWW-Authenticate", "Bearer");
            return r;
        }
    }
    return no_answer();
}

rest_response rest_api::bad_json(const json_input::error& e, std::string_view what) {
    const auto max = state_.cfg.limits.json_max_depth;
    switch (e.what) {
        case json_input::fault::too_deep:
            state_.stats.count_too_deep("rest");
            return error(400, "invalid_json",
                         std::string(what) + " is too deeply nested: " +
                             protocol::too_deep_message(max));
        case json_input::fault::duplicate_key:
            return error(400, "invalid_json", std::string(what) + " is ambiguous: " + e.message);
        case json_input::fault::wrong_type:
        case json_input::fault::invalid: break;
    }
    return error(400, "invalid_json", std::string(what) + " is not valid JSON (" + e.message + ")");
}

rest_response rest_api::parse_events(const rest_request& req, bool batch,
                                     std::vector<envelope>& out, std::vector<std::string>& keys) {
    const auto max = state_.cfg.limits.json_max_depth;
    if (!batch) {
        // The body's own object is one level more than its values may nest.
        auto body = json_input::read_object(req.body, max + 1);
        if (auto* bad = std::get_if<json_input::error>(&body)) {
            if (bad->what == json_input::fault::wrong_type)
                return error(400, "invalid_body", "a publish request is a JSON object");
            return bad_json(*bad, "the body");
        }
        out.resize(1);
        keys.resize(1);
        if (auto bad = parse_publish(std::get<json_input::object>(body), state_.names, max, out[0],
                                     keys[0]))
            return error(400, bad->code, bad->message);
        return no_answer();
    }
    auto body = json_input::read_array(req.body, max + 2);
    if (auto* bad = std::get_if<json_input::error>(&body)) {
        if (bad->what != json_input::fault::wrong_type) return bad_json(*bad, "the body");
    }
    auto* items = std::get_if<std::vector<json_input::raw_value>>(&body);
    if (items == nullptr || items->empty())
        return error(400, "invalid_body", "a batch is a non-empty JSON array of publish requests");
    const auto max_events = state_.cfg.limits.max_batch_events;
    if (items->size() > max_events)
        return error(413, "too_many_events",
                     "a batch holds at most " + std::to_string(max_events) + " events");
    // All or nothing: every item is valid before any is published.
    out.resize(items->size());
    keys.resize(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
        auto fail = [&](std::string_view code, const std::string& message) {
            auto r = error(400, code, "events[" + std::to_string(i) + "]: " + message);
            annotate(r, {{"index", i}}, {});
            return r;
        };
        if ((*items)[i].type != json_input::kind::object)
            return fail("invalid_body", "a publish request is a JSON object");
        auto item = json_input::read_object((*items)[i].text, max + 1);
        if (auto* bad = std::get_if<json_input::error>(&item)) {
            // The whole body passed the same checks; only a repeated member is left to find.
            return fail("invalid_json", bad->message);
        }
        if (auto bad = parse_publish(std::get<json_input::object>(item), state_.names, max, out[i],
                                     keys[i]))
            return fail(bad->code, bad->message);
    }
    return no_answer();
}

void rest_api::publish(std::vector<envelope> events, std::vector<std::string> keys, bool batch,
                       responder respond) {
    if (state_.events == nullptr)
        return respond(error(503, "bus_unavailable", "the event bus is not available"));
    // Answered once the bus has accepted or lost every event.
    struct progress {
        std::size_t left = 0;
        std::size_t first_lost = std::string::npos;
        std::vector<bus::publish_result> results;
        responder respond;
    };
    auto p = std::make_shared<progress>();
    p->left = events.size();
    p->results.resize(events.size());
    p->respond = std::move(respond);
    for (auto& e : events) state_.stamp(e);
    metrics* stats = &state_.stats;  // outlives the bus, unlike this handler
    for (std::size_t i = 0; i < events.size(); ++i) {
        bus::publish_options how;
        how.history = state_.history_of(events[i]);
        how.idempotency_key = std::move(keys[i]);
        state_.events->publish(events[i], how, [p, i, batch, stats](const bus::publish_result& r) {
            p->results[i] = r;
            if (r.duplicate)
                ++stats->history.duplicates;
            else if (r.accepted)
                ++stats->events_published;
            else
                p->first_lost = std::min(p->first_lost, i);
            if (--p->left > 0) return;
            if (p->first_lost == std::string::npos)
                return p->respond(json_response(202, publish_answer(p->results, batch)));
            auto answer = error_response(*stats, 503, "bus_unavailable",
                                         "the event bus is not available; retry later");
            if (batch) {
                std::vector<bus::publish_result> accepted(p->results.begin(),
                                                          p->results.begin() + p->first_lost);
                annotate(answer, {{"index", p->first_lost}}, publish_answer(accepted, true));
            }
            p->respond(std::move(answer));
        });
    }
}

}  // namespace wsgate
