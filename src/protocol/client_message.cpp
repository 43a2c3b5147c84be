#include <wsgate/protocol/client_message.hpp>

#include <nlohmann/json.hpp>

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

parse_result parse_client_message(std::string_view text, const name_rules& channels) {
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return fail(client_error::invalid_json, "message is not valid JSON");
    if (!doc.is_object()) return fail(client_error::not_an_object, "message must be a JSON object");

    // The id first, so that every later error can carry it.
    client_request req;
    if (auto it = doc.find("id"); it != doc.end()) {
        const bool short_string = it->is_string() && it->get_ref<const std::string&>().size() <=
                                                         max_id_length;
        if (!it->is_number() && !short_string)
            return fail(client_error::invalid_field,
                        "id must be a number or a string of at most 64 characters");
        req.id = it->dump();
    }

    auto type = doc.find("type");
    if (type == doc.end()) return fail(client_error::missing_field, "type is required", req.id);
    if (!type->is_string()) return fail(client_error::invalid_field, "type must be a string", req.id);
    const auto& name = type->get_ref<const std::string&>();
    if (name == "ping") {
        req.type = request_type::ping;
        return req;
    }
    if (name == "send") {
        req.type = request_type::send;
        auto service = doc.find("service");
        if (service == doc.end())
            return fail(client_error::missing_field, "service is required", req.id);
        if (!service->is_string())
            return fail(client_error::invalid_field, "service must be a string", req.id);
        req.service = service->get<std::string>();
        if (auto data = doc.find("data"); data != doc.end()) req.data = data->dump();
        return req;
    }
    if (name == "auth" || name == "refresh") {
        req.type = name == "auth" ? request_type::auth : request_type::refresh;
        auto token = doc.find("token");
        if (token == doc.end()) return fail(client_error::missing_field, "token is required", req.id);
        if (!token->is_string() || token->get_ref<const std::string&>().empty() ||
            token->get_ref<const std::string&>().size() > max_token_length)
            return fail(client_error::invalid_field,
                        "token must be a string of 1-" + std::to_string(max_token_length) +
                            " characters",
                        req.id);
        req.token = token->get<std::string>();
        return req;
    }
    if (name == "subscribe") {
        req.type = request_type::subscribe;
    } else if (name == "unsubscribe") {
        req.type = request_type::unsubscribe;
    } else if (name == "publish") {
        req.type = request_type::publish;
        auto event = doc.find("event");
        if (event == doc.end()) return fail(client_error::missing_field, "event is required", req.id);
        if (!event->is_string() || event->get_ref<const std::string&>().empty() ||
            event->get_ref<const std::string&>().size() > max_event_length)
            return fail(client_error::invalid_field, "event must be a string of 1-128 characters",
                        req.id);
        req.event = event->get<std::string>();
        if (auto data = doc.find("data"); data != doc.end()) req.data = data->dump();
    } else {
        return fail(client_error::unknown_type, "unknown type '" + name.substr(0, 64) + "'", req.id);
    }

    auto channel = doc.find("channel");
    if (channel == doc.end())
        return fail(client_error::missing_field, "channel is required", req.id);
    if (!channel->is_string())
        return fail(client_error::invalid_field, "channel must be a string", req.id);
    req.channel = channel->get<std::string>();
    if (!channels.valid(req.channel))
        return fail(client_error::invalid_channel, channels.describe("channel"), req.id);
    return req;
}

}  // namespace wsgate::protocol
