#include <wsgate/protocol/client_message.hpp>

#include <wsgate/json/json_reader.hpp>
#include <wsgate/support/decimal.hpp>

namespace wsgate::protocol {

namespace {

constexpr std::size_t max_id_length = 64;
constexpr std::size_t max_event_length = 128;
constexpr std::size_t max_token_length = 8192;

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

request_error fail(client_error code, std::string message, std::optional<std::string> id = {}) {
    return request_error{code, std::move(message), std::move(id)};
}

}  // namespace

const char* to_string(client_error e) {
    switch (e) {
        case client_error::invalid_json: return "invalid_json";
        case client_error::not_an_object: return "not_an_object";
        case client_error::missing_field: return "missing_field";
        case client_error::invalid_field: return "invalid_field";
        case client_error::unknown_type: return "unknown_type";
        case client_error::invalid_channel: return "invalid_channel";
        case client_error::too_many_subscriptions: return "too_many_subscriptions";
        case client_error::not_subscribed: return "not_subscribed";
        case client_error::unknown_service: return "unknown_service";
        case client_error::forbidden: return "forbidden";
        case client_error::too_large: return "too_large";
        case client_error::service_unavailable: return "service_unavailable";
        case client_error::service_busy: return "service_busy";
        case client_error::timeout: return "timeout";
        case client_error::rejected: return "rejected";
        case client_error::rate_limited: return "rate_limited";
        case client_error::unauthorized: return "unauthorized";
    }
    return "unknown";
}

bool valid_service_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool name_rules::valid(std::string_view name) const {
    if (name.empty() || name.size() > max_length) return false;
    for (char c : name) {
        if (!is_alnum(c) && extra_chars.find(c) == std::string::npos) return false;
    }
    return true;
}

std::string name_rules::describe(std::string_view what) const {
    return std::string(what) + " must be 1-" + std::to_string(max_length) +
           " characters of [A-Za-z0-9] and " + extra_chars;
}

namespace {

// Characters, not bytes: the text is valid UTF-8 (the reader checked it), so each character
// has exactly one byte that is not a continuation byte (10xxxxxx).
std::size_t characters(std::string_view utf8) {
    std::size_t n = 0;
    for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

const json_input::member* string_member(const json_input::object& doc, std::string_view key) {
    const auto* m = doc.find(key);
    return m != nullptr && m->value.type == json_input::kind::string ? m : nullptr;
}

// A non-negative integer as JSON wrote it (no sign, fraction or exponent).
std::optional<std::uint64_t> unsigned_integer(const json_input::raw_value& v) {
    if (v.type != json_input::kind::number) return std::nullopt;
    return parse_decimal(v.text);
}

// {"epoch": "<string>", "offset": <integer>}: a position the client saw (docs/history.md).
std::optional<stream_position> position_object(const json_input::raw_value& v) {
    if (v.type != json_input::kind::object) return std::nullopt;
    auto read = json_input::read_object(v.text, 2);
    const auto* obj = std::get_if<json_input::object>(&read);
    if (obj == nullptr) return std::nullopt;
    const auto* epoch = string_member(*obj, "epoch");
    const auto* offset = obj->find("offset");
    if (epoch == nullptr || epoch->string.size() > 64 || offset == nullptr ||
        obj->members.size() != 2)
        return std::nullopt;
    auto n = unsigned_integer(offset->value);
    if (!n) return std::nullopt;
    return stream_position{epoch->string, *n};
}

}  // namespace

bool valid_request_id(const json_input::raw_value& id, std::string_view unescaped) {
    if (id.type == json_input::kind::number) return true;
    return id.type == json_input::kind::string && characters(unescaped) <= max_id_length;
}

std::string too_deep_message(std::size_t max_depth) {
    return "arrays and objects may nest at most " + std::to_string(max_depth) +
           " levels deep (limits.json_max_depth)";
}

parse_result parse_client_message(std::string_view text, const name_rules& channels,
                                  std::size_t max_depth) {
    // The message's own object is one level more than what its values may nest.
    auto read = json_input::read_object(text, max_depth + 1);
    if (auto* bad = std::get_if<json_input::error>(&read)) {
        switch (bad->what) {
            case json_input::fault::wrong_type:
                return fail(client_error::not_an_object, "message must be a JSON object");
            case json_input::fault::too_deep: {
                auto e = fail(client_error::invalid_json,
                              "message is too deeply nested: " + too_deep_message(max_depth));
                e.too_deep = true;
                return e;
            }
            case json_input::fault::duplicate_key:
                return fail(client_error::invalid_json, "message is ambiguous: " + bad->message);
            case json_input::fault::invalid: break;
        }
        return fail(client_error::invalid_json, "message is not valid JSON (" + bad->message + ")");
    }
    const auto& doc = std::get<json_input::object>(read);

    // The id first, so that every later error can carry it. It is echoed exactly as sent.
    client_request req;
    if (const auto* id = doc.find("id")) {
        if (!valid_request_id(id->value, id->string))
            return fail(client_error::invalid_field,
                        "id must be a number or a string of at most 64 characters");
        req.id = std::string(id->value.text);
    }

    const auto* type = doc.find("type");
    if (type == nullptr) return fail(client_error::missing_field, "type is required", req.id);
    if (type->value.type != json_input::kind::string)
        return fail(client_error::invalid_field, "type must be a string", req.id);
    const std::string& name = type->string;
    // data is passed on exactly as the client wrote it (docs/protocol.md).
    auto take_data = [&doc, &req] {
        if (const auto* data = doc.find("data")) req.data = std::string(data->value.text);
    };
    if (name == "ping") {
        req.type = request_type::ping;
        return req;
    }
    if (name == "send") {
        req.type = request_type::send;
        if (doc.find("service") == nullptr)
            return fail(client_error::missing_field, "service is required", req.id);
        const auto* service = string_member(doc, "service");
        if (service == nullptr)
            return fail(client_error::invalid_field, "service must be a string", req.id);
        req.service = service->string;
        take_data();
        return req;
    }
    // auth's and subscribe's `recover`, history's `since`: a position the client saw.
    auto take_position = [&doc, &req](const char* key) -> std::optional<request_error> {
        const auto* m = doc.find(key);
        if (m == nullptr) return std::nullopt;
        req.since = position_object(m->value);
        if (req.since) return std::nullopt;
        return fail(client_error::invalid_field,
                    std::string(key) + " must be {\"epoch\": <string>, \"offset\": <integer>}",
                    req.id);
    };
    if (name == "auth" || name == "refresh") {
        req.type = name == "auth" ? request_type::auth : request_type::refresh;
        if (doc.find("token") == nullptr)
            return fail(client_error::missing_field, "token is required", req.id);
        const auto* token = string_member(doc, "token");
        if (token == nullptr || token->string.empty() || token->string.size() > max_token_length)
            return fail(client_error::invalid_field,
                        "token must be a string of 1-" + std::to_string(max_token_length) +
                            " characters",
                        req.id);
        req.token = token->string;
        // auth: the position of the user's stream the client saw (docs/history.md).
        if (req.type == request_type::auth) {
            if (auto bad = take_position("recover")) return *bad;
        }
        return req;
    }
    if (name == "subscribe") {
        req.type = request_type::subscribe;
        if (auto bad = take_position("recover")) return *bad;
    } else if (name == "history") {
        req.type = request_type::history;
        if (auto bad = take_position("since")) return *bad;
        if (const auto* limit = doc.find("limit")) {
            auto n = unsigned_integer(limit->value);
            if (!n || *n == 0 || *n > 100000)
                return fail(client_error::invalid_field, "limit must be an integer of 1-100000",
                            req.id);
            req.limit = static_cast<std::size_t>(*n);
        }
    } else if (name == "unsubscribe") {
        req.type = request_type::unsubscribe;
    } else if (name == "publish") {
        req.type = request_type::publish;
        if (doc.find("event") == nullptr)
            return fail(client_error::missing_field, "event is required", req.id);
        const auto* event = string_member(doc, "event");
        if (event == nullptr || event->string.empty() || event->string.size() > max_event_length)
            return fail(client_error::invalid_field, "event must be a string of 1-128 characters",
                        req.id);
        req.event = event->string;
        take_data();
    } else {
        return fail(client_error::unknown_type, "unknown type '" + name.substr(0, 64) + "'", req.id);
    }

    if (doc.find("channel") == nullptr)
        return fail(client_error::missing_field, "channel is required", req.id);
    const auto* channel = string_member(doc, "channel");
    if (channel == nullptr)
        return fail(client_error::invalid_field, "channel must be a string", req.id);
    req.channel = channel->string;
    if (!channels.valid(req.channel))
        return fail(client_error::invalid_channel, channels.describe("channel"), req.id);
    return req;
}

}  // namespace wsgate::protocol
