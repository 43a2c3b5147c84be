#include "chat_rig.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "child_process.hpp"

namespace wsgate::test {

using nlohmann::json;

chat_rig::chat_rig(chat_setup setup) {
    for (int attempt = 1;; ++attempt) {
        try {
            start(setup);
            return;
        } catch (const std::runtime_error&) {
            gateway_.reset();
            bot_.reset();
            if (attempt == 3) throw;
        }
    }
}

http_client chat_rig::api() const {
    http_client client(gateway_->api_port());
    client.set_api_key(chat_api_key);
    return client;
}

void chat_rig::start(const chat_setup& setup) {
    const bool websocket = setup.transport == "websocket";
    const std::uint16_t gateway_port = free_loopback_port();
    std::string url = (websocket ? "ws://127.0.0.1:" : "http://127.0.0.1:") +
                      std::to_string(free_loopback_port()) + (websocket ? "/ws-chat" : "/chat");
    if (setup.start_bot) {
        bot_ = std::make_unique<chatbot_process>(setup.bot_secret, gateway_port, chat_api_key);
        url = websocket ? bot_->ws_url() : bot_->url();
    }
    json service{{"transport", setup.transport},
                 {"url", url},
                 {"secret", chat_secret},
                 {"timeout_ms", chat_timeout_ms}};
    service.update(setup.service);
    std::vector<std::string> args{"--server.listen", "127.0.0.1:" + std::to_string(gateway_port),
                                  "--auth.api_keys", chat_api_key,
                                  "--services",      json{{"chatbot", service}}.dump()};
    args.insert(args.end(), setup.gateway_args.begin(), setup.gateway_args.end());
    gateway_ = std::make_unique<gateway_process>(args);
}

json send_frame(const std::string& text, const json& id, const std::string& service) {
    return {{"type", "send"}, {"service", service}, {"id", id}, {"data", {{"text", text}}}};
}

json ack(const json& id) { return {{"type", "ack"}, {"id", id}}; }

json reply(const json& id, const std::string& text) {
    return {{"type", "reply"}, {"id", id}, {"service", "chatbot"}, {"data", {{"text", text}}}};
}

json message(const std::string& text) {
    return {{"type", "message"}, {"service", "chatbot"}, {"data", {{"text", text}}}};
}

void expect_error(const json& frame, const json& id, const std::string& code) {
    EXPECT_EQ(frame.value("type", ""), "error") << frame;
    EXPECT_EQ(frame.value("id", json()), id) << frame;
    EXPECT_EQ(frame.value("code", ""), code) << frame;
    EXPECT_TRUE(frame.contains("message") && frame["message"].is_string()) << frame;
}

std::vector<json> read_frames(ws_client& client, std::size_t count) {
    std::vector<json> frames;
    for (std::size_t i = 0; i < count; ++i) {
        frames.push_back(client.read_json());
    }
    return frames;
}

std::vector<json> sorted(std::vector<json> frames) {
    std::sort(frames.begin(), frames.end(),
              [](const json& a, const json& b) { return a.dump() < b.dump(); });
    return frames;
}

std::string ws_errors(const std::string& code) {
    return "wsgate_errors_total{source=\"ws\",code=\"" + code + "\"}";
}

void expect_each_client_answered_in_order(const std::vector<std::unique_ptr<ws_client>>& clients,
                                          int messages_each) {
    const auto text = [](std::size_t c, int m) {
        return "client " + std::to_string(c) + " message " + std::to_string(m);
    };
    for (int m = 0; m < messages_each; ++m) {
        for (std::size_t c = 0; c < clients.size(); ++c) {
            clients[c]->send_json(send_frame(text(c, m), m));
        }
    }
    for (std::size_t c = 0; c < clients.size(); ++c) {
        SCOPED_TRACE("client " + std::to_string(c));
        std::vector<nlohmann::json> replies;
        for (const auto& frame : read_frames(*clients[c], 2 * messages_each)) {
            if (frame.value("type", "") == "reply") {
                replies.push_back(frame);
            } else {
                EXPECT_EQ(frame.value("type", ""), "ack") << frame;
            }
        }
        ASSERT_EQ(replies.size(), static_cast<std::size_t>(messages_each));
        for (int m = 0; m < messages_each; ++m) {
            EXPECT_EQ(replies[m], reply(m, "echo: " + text(c, m)));
        }
    }
}

}  // namespace wsgate::test
