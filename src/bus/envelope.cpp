#include <wsgate/bus/envelope.hpp>

#include <nlohmann/json.hpp>

namespace wsgate {

const char* to_string(target_kind k) {
    switch (k) {
        case target_kind::channel: return "channel";
        case target_kind::user: return "user";
        case target_kind::connection: return "connection";
        case target_kind::broadcast: return "broadcast";
    }
    return "broadcast";
}

const char* to_string(frame_kind k) {
    switch (k) {
        case frame_kind::event: return "event";
        case frame_kind::message: return "message";
        case frame_kind::reply: return "reply";
    }
    return "event";
}

std::string instance_topic(std::string_view instance_id) {
    return "conn:" + std::string(instance_id);
}

std::string connection_topic(std::string_view connection_id) {
    const auto dash = connection_id.rfind('-');
    return instance_topic(dash == std::string_view::npos ? connection_id
                                                         : connection_id.substr(0, dash));
}

std::string topic_of(const envelope& e) {
    switch (e.kind) {
        case target_kind::channel: return "ch:" + e.target;
        case target_kind::user: return "user:" + e.target;
        case target_kind::connection: return connection_topic(e.target);
        case target_kind::broadcast: break;
    }
    return broadcast_topic();
}

namespace {
// A JSON text we produced ourselves, put back into a document.
nlohmann::json json_text(const std::string& text) {
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}
}  // namespace

std::string encode(const envelope& e) {
    nlohmann::json j = {
        {"v", envelope::version}, {"id", e.id},       {"origin", e.origin},
        {"kind", to_string(e.kind)}, {"target", e.target}, {"event", e.event},
        {"ts", e.timestamp_ms},
    };
    if (e.frame != frame_kind::event) {
        j["frame"] = to_string(e.frame);
        j["service"] = e.service;
    }
    if (e.frame == frame_kind::reply) j["reply_id"] = json_text(e.reply_id);
    // data is JSON text already: splice it in rather than parse and re-serialize it.
    std::string out = j.dump();
    out.pop_back();
    out += ",\"data\":";
    out += e.data;
    out += '}';
    return out;
}

std::optional<envelope> decode_envelope(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    auto string_field = [&j](const char* key, std::string& out) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    auto v = j.find("v");
    auto ts = j.find("ts");
    auto data = j.find("data");
    if (v == j.end() || *v != envelope::version || ts == j.end() || !ts->is_number_integer() ||
        data == j.end())
        return std::nullopt;
    envelope e;
    std::string kind;
    if (!string_field("id", e.id) || !string_field("origin", e.origin) ||
        !string_field("kind", kind) || !string_field("target", e.target) ||
        !string_field("event", e.event))
        return std::nullopt;
    if (kind == "channel")
        e.kind = target_kind::channel;
    else if (kind == "user")
        e.kind = target_kind::user;
    else if (kind == "connection")
        e.kind = target_kind::connection;
    else if (kind == "broadcast")
        e.kind = target_kind::broadcast;
    else
        return std::nullopt;
    e.timestamp_ms = ts->get<std::int64_t>();
    e.data = data->dump();
    if (auto frame = j.find("frame"); frame != j.end()) {
        if (*frame == "message")
            e.frame = frame_kind::message;
        else if (*frame == "reply")
            e.frame = frame_kind::reply;
        else
            return std::nullopt;
        if (!string_field("service", e.service)) return std::nullopt;
    }
    if (e.frame == frame_kind::reply) {
        auto id = j.find("reply_id");
        if (id == j.end() || !(id->is_string() || id->is_number())) return std::nullopt;
        e.reply_id = id->dump();
    }
    return e;
}

}  // namespace wsgate
