#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chatbot_process.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "polling.hpp"
#include "ws_client.hpp"

namespace wsgate::test {

/// Shared by the chat tests (integration/chat_test.cpp, integration/chat_ws_test.cpp).
inline constexpr const char* chat_secret = "chat-test-secret-0123456789";
inline constexpr const char* chat_api_key = "k1";
inline constexpr int chat_timeout_ms = 1000;

/// What a chat test runs against: the service configuration and who may use it.
struct chat_setup {
    std::string transport = "http";  ///< "http" (the bot's /chat) or "websocket" (its /ws-chat)
    nlohmann::json service =
        nlohmann::json::object();          ///< fields added to (or replacing) the defaults
    std::string bot_secret = chat_secret;  ///< the secret the bot checks signatures with
    bool start_bot = true;  ///< false: the service's url points at a port nobody listens on
    std::vector<std::string> gateway_args;  ///< more gateway flags
};

/// A bot and a gateway that know each other: the gateway's `chatbot` service reaches the bot
/// over `setup.transport`, the bot pushes through the gateway's REST API with the API key `k1`.
///
/// The bot must know the gateway's port before the gateway starts (and the other way round),
/// so the gateway gets a port that was free a moment ago; if another process took it meanwhile,
/// both start again on a new one.
class chat_rig {
  public:
    explicit chat_rig(chat_setup setup = {});

    gateway_process& gateway() { return *gateway_; }
    chatbot_process& bot() { return *bot_; }
    std::uint16_t port() const { return gateway_->public_port(); }

    /// A REST client for the gateway, with the API key.
    http_client api() const;

  private:
    void start(const chat_setup& setup);

    std::unique_ptr<chatbot_process> bot_;
    std::unique_ptr<gateway_process> gateway_;
};

/// A client's `send` to `service` with `data` `{"text": text}`.
nlohmann::json send_frame(const std::string& text, const nlohmann::json& id,
                          const std::string& service = "chatbot");
nlohmann::json ack(const nlohmann::json& id);
/// The `reply` from `chatbot` with `data` `{"text": text}`.
nlohmann::json reply(const nlohmann::json& id, const std::string& text);
/// The `message` from `chatbot` with `data` `{"text": text}`.
nlohmann::json message(const std::string& text);

/// Records a failure unless `frame` is an error with `id` and `code` and a human message.
void expect_error(const nlohmann::json& frame, const nlohmann::json& id, const std::string& code);

/// The next `count` frames of `client`.
std::vector<nlohmann::json> read_frames(ws_client& client, std::size_t count);

/// The frames in a fixed order, for comparing frames whose relative order is not specified.
std::vector<nlohmann::json> sorted(std::vector<nlohmann::json> frames);

/// The metric counting errors with `code` answered to WebSocket clients.
std::string ws_errors(const std::string& code);

/// Every client sends `messages_each` messages (interleaved across clients); each must get an
/// ack for each and the replies to its own messages, in the order it sent them.
void expect_each_client_answered_in_order(const std::vector<std::unique_ptr<ws_client>>& clients,
                                          int messages_each);

}  // namespace wsgate::test
