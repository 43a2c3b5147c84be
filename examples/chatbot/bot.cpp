#include "bot.hpp"

#include <charconv>

namespace chatbot {
namespace {

/// Longest delay "slow <ms>" may ask for.
constexpr long max_slow_ms = 600000;

std::string string_field(const nlohmann::json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The <ms> of "slow <ms>", or nullopt when `text` is not such a command.
std::optional<std::chrono::milliseconds> slow_delay(std::string_view text) {
    constexpr std::string_view prefix = "slow ";
    if (text.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    const std::string_view digits = text.substr(prefix.size());
    long ms = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || ms < 0 ||
        ms > max_slow_ms) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(ms);
}

nlohmann::json text_body(const std::string& text) { return {{"text", text}}; }

}  // namespace

std::optional<incoming_message> parse_message(std::string_view body) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object() || !json.contains("connection") || !json["connection"].is_string()) {
        return std::nullopt;
    }
    incoming_message message;
    message.service = string_field(json, "service");
    message.connection = json["connection"].get<std::string>();
    message.user = json.value("user", nlohmann::json());
    message.id = json.value("id", nlohmann::json());
    message.data = json.value("data", nlohmann::json());
    return message;
}

answer answer_for(const incoming_message& message) {
    if (!message.data.is_object() || !message.data.contains("text") ||
        !message.data["text"].is_string()) {
        return answer{400, error_body("data.text must be a string")};
    }
    const std::string text = message.data["text"].get<std::string>();
    if (text == "silent") return answer{204, nullptr};
    if (text == "fail") return answer{500, error_body("failing as asked")};
    if (text == "reject") return answer{400, error_body("rejected as asked")};
    if (text == "push") return answer{204, nullptr, {}, follow_up::push};
    if (text == "later") return answer{204, nullptr, {}, follow_up::later};
    if (const auto delay = slow_delay(text)) return answer{200, text_body("slow"), *delay};
    return answer{200, text_body("echo: " + text)};
}

answer check_subscription(const incoming_message& message) {
    const std::string channel = message.data.is_object() ? string_field(message.data, "channel")
                                                          : std::string();
    if (channel.empty()) return answer{400, error_body("data.channel must be a string")};
    if (channel.find("check-fail") != std::string::npos)
        return answer{500, error_body("failing as asked")};
    if (channel.find("closed") != std::string::npos)
        return answer{200, {{"allow", false}, {"reason", channel + " is closed"}}};
    return answer{200, {{"allow", true}}};
}

ws_answer ws_answer_for(const incoming_message& message) {
    // A frame naming the request's id reaches the sender as the `reply` to it.
    const auto to_sender = [&message](nlohmann::json data) {
        nlohmann::json frame{{"data", std::move(data)}};
        if (!message.id.is_null()) {
            frame["id"] = message.id;
        }
        return frame;
    };
    if (!message.data.is_object() || !message.data.contains("text") ||
        !message.data["text"].is_string()) {
        return {ws_answer::action::send, to_sender(error_body("data.text must be a string"))};
    }
    const std::string text = message.data["text"].get<std::string>();
    if (text == "push") return {ws_answer::action::send, {{"data", text_body("pushed")}}};
    if (text == "close") return {ws_answer::action::close, nullptr};
    if (const auto delay = slow_delay(text)) {
        return {ws_answer::action::send, to_sender(text_body("slow")), *delay};
    }
    return {ws_answer::action::send, to_sender(text_body("echo: " + text))};
}

nlohmann::json publish_body(follow_up kind, const incoming_message& message) {
    const std::string service = message.service.empty() ? "chatbot" : message.service;
    if (kind == follow_up::push) {
        return {{"connection", message.connection},
                {"service", service},
                {"data", text_body("pushed")}};
    }
    nlohmann::json reply_to{{"connection", message.connection}};
    if (!message.id.is_null()) {
        reply_to["id"] = message.id;
    }
    return {{"reply_to", reply_to}, {"service", service}, {"data", text_body("later")}};
}

nlohmann::json queue_publish_body(const incoming_message& message) {
    const std::string service = message.service.empty() ? "chatbot" : message.service;
    const bool has_text = message.data.is_object() && message.data.contains("text") &&
                          message.data["text"].is_string();
    nlohmann::json data = has_text
                              ? text_body("echo: " + message.data["text"].get<std::string>())
                              : error_body("data.text must be a string");
    if (message.id.is_null()) {
        return {{"connection", message.connection}, {"service", service}, {"data", data}};
    }
    return {{"reply_to", {{"connection", message.connection}, {"id", message.id}}},
            {"service", service},
            {"data", data}};
}

nlohmann::json error_body(const std::string& text) { return {{"error", text}}; }

}  // namespace chatbot
