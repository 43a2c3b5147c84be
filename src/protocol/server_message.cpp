#include <wsgate/protocol/server_message.hpp>

#include <nlohmann/json.hpp>

namespace wsgate::protocol {

namespace {

// Appends `s` as a JSON string literal. Error messages quote what a client sent (cut to a
// length, possibly inside a UTF-8 sequence): invalid UTF-8 becomes U+FFFD instead of throwing.
void append_quoted(std::string& out, std::string_view s) {
    out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `{"type":"<type>"` plus `,"id":<id>` when there is one; the caller closes the object.
std::string begin(std::string_view type, const std::optional<std::string>& id) {
    std::string out = "{\"type\":\"";
    out += type;
    out += '"';
    if (id) {
        out += ",\"id\":";
        out += *id;
    }
    return out;
}

}  // namespace

std::string welcome_message(std::string_view connection_id, std::string_view user,
                            std::chrono::milliseconds heartbeat) {
    std::string out = begin("welcome", std::nullopt);
    out += ",\"version\":1,\"connection\":";
    append_quoted(out, connection_id);
    out += ",\"user\":";
    if (user.empty())
        out += "null";
    else
        append_quoted(out, user);
    out += ",\"heartbeat_ms\":" + std::to_string(heartbeat.count()) + "}";
    return out;
}

std::string ack_message(const std::optional<std::string>& id) { return begin("ack", id) + "}"; }

std::string pong_message(const std::optional<std::string>& id) { return begin("pong", id) + "}"; }

std::string error_message(const std::optional<std::string>& id, std::string_view code,
                          std::string_view message) {
    std::string out = begin("error", id);
    out += ",\"code\":";
    append_quoted(out, code);
    out += ",\"message\":";
    append_quoted(out, message);
    out += '}';
    return out;
}

std::string event_message(std::string_view channel, std::string_view event,
                          std::string_view event_id, std::string_view data) {
    std::string out;
    out.reserve(64 + channel.size() + event.size() + event_id.size() + data.size());
    out = "{\"type\":\"event\"";
    if (!channel.empty()) {
        out += ",\"channel\":";
        append_quoted(out, channel);
    }
    out += ",\"event\":";
    append_quoted(out, event);
    out += ",\"id\":";
    append_quoted(out, event_id);
    out += ",\"data\":";
    out += data;
    out += '}';
    return out;
}

namespace {
// `,"service":<service>,"data":<data>}`: how a service's frames end.
std::string end_service_frame(std::string out, std::string_view service, std::string_view data) {
    out += ",\"service\":";
    append_quoted(out, service);
    out += ",\"data\":";
    out += data;
    out += '}';
    return out;
}
}  // namespace

std::string service_message(std::string_view service, std::string_view data) {
    return end_service_frame(begin("message", std::nullopt), service, data);
}

std::string reply_message(std::string_view id, std::string_view service, std::string_view data) {
    return end_service_frame(begin("reply", std::string(id)), service, data);
}

}  // namespace wsgate::protocol
