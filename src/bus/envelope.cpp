#include <wsgate/bus/envelope.hpp>

#include <nlohmann/json.hpp>

#include <wsgate/json/json_reader.hpp>
#include <wsgate/support/decimal.hpp>

#include <charconv>

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
    if (e.offset != 0) {
        j["offset"] = e.offset;
        j["epoch"] = e.epoch;
    }
    // reply_id and data are JSON texts as the client and the publisher wrote them: spliced in,
    // never parsed and re-serialized (which would re-spell numbers and reorder keys).
    std::string out = j.dump();
    out.pop_back();
    if (e.frame == frame_kind::reply) {
        out += ",\"reply_id\":";
        out += e.reply_id;
    }
    out += ",\"data\":";
    out += e.data;
    out += '}';
    return out;
}

std::optional<envelope> decode_envelope(std::string_view text, std::size_t max_depth,
                                        bool* too_deep) {
    namespace in = json_input;
    // The envelope's own object is one level more than data may nest.
    auto read = in::read_object(text, max_depth + 1);
    const auto* j = std::get_if<in::object>(&read);
    if (j == nullptr) {
        if (too_deep != nullptr)
            *too_deep = std::get<in::error>(read).what == in::fault::too_deep;
        return std::nullopt;
    }
    auto string_field = [j](const char* key, std::string& out) {
        const auto* m = j->find(key);
        if (m == nullptr || m->value.type != in::kind::string) return false;
        out = m->string;
        return true;
    };
    const auto* v = j->find("v");
    const auto* ts = j->find("ts");
    const auto* data = j->find("data");
    if (v == nullptr || v->value.text != std::to_string(envelope::version) || ts == nullptr ||
        ts->value.type != in::kind::number || data == nullptr)
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
    // An integer of milliseconds, as encode() writes it.
    const auto ts_text = ts->value.text;
    const char* ts_end = ts_text.data() + ts_text.size();
    if (std::from_chars(ts_text.data(), ts_end, e.timestamp_ms).ptr != ts_end) return std::nullopt;
    // data travels as the publisher wrote it: spliced in by encode(), taken out unchanged.
    e.data = std::string(data->value.text);
    if (j->find("frame") != nullptr) {
        std::string name;
        if (!string_field("frame", name)) return std::nullopt;
        if (name == "message")
            e.frame = frame_kind::message;
        else if (name == "reply")
            e.frame = frame_kind::reply;
        else
            return std::nullopt;
        if (!string_field("service", e.service)) return std::nullopt;
    }
    if (const auto* offset = j->find("offset")) {
        // A positive integer with its epoch, as the history engine gives them.
        const auto n = offset->value.type == in::kind::number
                           ? parse_decimal(offset->value.text)
                           : std::nullopt;
        if (!n || *n == 0 || !string_field("epoch", e.epoch) || e.epoch.empty())
            return std::nullopt;
        e.offset = *n;
    }
    if (e.frame == frame_kind::reply) {
        const auto* id = j->find("reply_id");
        if (id == nullptr ||
            (id->value.type != in::kind::string && id->value.type != in::kind::number))
            return std::nullopt;
        e.reply_id = std::string(id->value.text);
    }
    return e;
}

}  // namespace wsgate
