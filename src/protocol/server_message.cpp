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

namespace {
// `,"epoch":<epoch>,"offset":<offset>`
void append_position(std::string& out, const history::position& at) {
    out += ",\"epoch\":";
    append_quoted(out, at.epoch);
    out += ",\"offset\":";
    out += std::to_string(at.offset);
}
}  // namespace

std::string welcome_message(std::string_view connection_id, std::string_view user,
                            std::chrono::milliseconds heartbeat,
                            const std::optional<history::position>& user_stream,
                            std::optional<bool> recovered) {
    std::string out = begin("welcome", std::nullopt);
    out += ",\"version\":1,\"connection\":";
    append_quoted(out, connection_id);
    out += ",\"user\":";
    if (user.empty())
        out += "null";
    else
        append_quoted(out, user);
    out += ",\"heartbeat_ms\":" + std::to_string(heartbeat.count());
    if (user_stream) append_position(out, *user_stream);
    if (recovered) out += *recovered ? ",\"recovered\":true" : ",\"recovered\":false";
    out += '}';
    return out;
}

std::string event_message(std::string_view channel, std::string_view event,
                          std::string_view event_id, std::string_view data,
                          const history::position& at) {
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
    if (at.offset != 0) append_position(out, at);
    out += ",\"data\":";
    out += data;
    out += '}';
    return out;
}

std::string subscribe_ack_message(const std::optional<std::string>& id,
                                  const history::position& at, std::optional<bool> recovered) {
    std::string out = begin("ack", id);
    append_position(out, at);
    if (recovered) out += *recovered ? ",\"recovered\":true" : ",\"recovered\":false";
    out += '}';
    return out;
}

std::string publish_ack_message(const std::optional<std::string>& id,
                                const history::position& at) {
    std::string out = begin("ack", id);
    append_position(out, at);
    out += '}';
    return out;
}

namespace {
// A gap frame of the stream `field` (channel, user) `name`.
std::string gap_frame(std::string_view field, std::string_view name,
                      const std::optional<history::position>& after,
                      const std::optional<history::position>& upto) {
    std::string out = begin("gap", std::nullopt);
    out += ",\"";
    out += field;
    out += "\":";
    append_quoted(out, name);
    if (after) {
        out += ",\"after\":{\"epoch\":";
        append_quoted(out, after->epoch);
        out += ",\"offset\":";
        out += std::to_string(after->offset);
        out += '}';
    }
    if (upto) append_position(out, *upto);
    out += '}';
    return out;
}
}  // namespace

std::string gap_message(std::string_view channel, const std::optional<history::position>& after,
                        const std::optional<history::position>& upto) {
    return gap_frame("channel", channel, after, upto);
}

std::string user_gap_message(std::string_view user, const std::optional<history::position>& after,
                             const std::optional<history::position>& upto) {
    return gap_frame("user", user, after, upto);
}

std::string history_message(const std::optional<std::string>& id, std::string_view channel,
                            const history::read_result& r) {
    std::string out = begin("history", id);
    out += ",\"channel\":";
    append_quoted(out, channel);
    append_position(out, r.top);
    out += r.complete ? ",\"complete\":true" : ",\"complete\":false";
    out += ",\"events\":[";
    for (std::size_t i = 0; i < r.events.size(); ++i) {
        const envelope& e = *r.events[i];
        if (i > 0) out += ',';
        out += "{\"event\":";
        append_quoted(out, e.event);
        out += ",\"id\":";
        append_quoted(out, e.id);
        out += ",\"offset\":" + std::to_string(e.offset);
        out += ",\"data\":";
        out += e.data;
        out += '}';
    }
    out += "]}";
    return out;
}

std::string client_text(const envelope& e) {
    switch (e.frame) {
        case frame_kind::message: return service_message(e.service, e.data);
        case frame_kind::reply: return reply_message(e.reply_id, e.service, e.data);
        case frame_kind::event: break;
    }
    const bool to_channel = e.kind == target_kind::channel;
    return event_message(to_channel ? e.target : std::string(), e.event, e.id, e.data,
                         {e.epoch, e.offset});
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
