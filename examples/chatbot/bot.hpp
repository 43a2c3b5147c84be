#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace chatbot {

/// One client message as the gateway POSTs it (docs/services.md).
struct incoming_message {
    std::string service;     ///< the name the gateway knows this service by
    std::string connection;  ///< the sender's connection id
    nlohmann::json user;     ///< user id, or null for an anonymous client
    nlohmann::json id;       ///< the client's request id; null when it gave none
    nlohmann::json data;     ///< what the client sent
};

/// The webhook body as a message, or nullopt when it is not the documented object.
std::optional<incoming_message> parse_message(std::string_view body);

/// What the bot does after its HTTP answer has been sent.
enum class follow_up {
    none,
    push,   ///< POST /api/v1/publish a `message` to the sender's connection
    later,  ///< POST /api/v1/publish a `reply` to the sender's request id
};

/// The bot's answer to one message.
struct answer {
    unsigned status = 200;
    nlohmann::json body;                 ///< null: no body
    std::chrono::milliseconds delay{0};  ///< answer only after this long
    follow_up then = follow_up::none;
};

/// Decides by `data.text`: "silent" → 204, "fail" → 500, "reject" → 400, "slow <ms>" → a
/// `{"text":"slow"}` after <ms>, "push" and "later" → 204 then a REST call, anything else →
/// `{"text":"echo: <text>"}`. Without a string `data.text` → 400.
answer answer_for(const incoming_message& message);

/// The example's answer to a subscribe check (docs/security.md), by `data.channel`: a channel
/// containing "closed" → 200 {"allow":false,"reason":...}; containing "check-fail" → 500;
/// anything else → 200 {"allow":true}. Without a string `data.channel` → 400.
answer check_subscription(const incoming_message& message);

/// What the bot does with one message on its WebSocket endpoint (`/ws-chat`).
struct ws_answer {
    enum class action { send, close };
    action what = action::send;
    nlohmann::json frame;                ///< send: the frame to send down
    std::chrono::milliseconds delay{0};  ///< send it only after this long
};

/// Decides by `data.text`, as answer_for() does, for the WebSocket endpoint: "push" →
/// `{"data":{"text":"pushed"}}`, "close" → close the WebSocket, "slow <ms>" →
/// `{"id":<id>,"data":{"text":"slow"}}` after <ms>, anything else →
/// `{"id":<id>,"data":{"text":"echo: <text>"}}` (no `id` when the client gave none). Without a
/// string `data.text` → `{"id":<id>,"data":{"error":...}}`.
ws_answer ws_answer_for(const incoming_message& message);

/// The body to POST to the gateway's /api/v1/publish for `kind` (never follow_up::none).
nlohmann::json publish_body(follow_up kind, const incoming_message& message);

/// The body a queue worker POSTs to /api/v1/publish to answer `message`: a `reply_to` the
/// sender's request (a message to its connection when it gave no id) from the message's service,
/// with data `{"text":"echo: <text>"}` (`{"error":...}` without a string `data.text`).
nlohmann::json queue_publish_body(const incoming_message& message);

/// `{"error": text}`, the body of every refusal.
nlohmann::json error_body(const std::string& text);

}  // namespace chatbot
