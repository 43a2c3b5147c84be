// Chat across instances: a client on one instance talks to a service, and the service's
// answers, published through another instance's REST API, come back once through Redis.

#include <gtest/gtest.h>

#include <string>

#include "chat_rig.hpp"
#include "chatbot_process.hpp"
#include "cluster.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;

// The gateway flags that declare the bot as `chatbot` (http transport) and the API key.
std::vector<std::string> chat_args(std::uint16_t bot_port) {
    const json services{{"chatbot",
                         {{"transport", "http"},
                          {"url", "http://127.0.0.1:" + std::to_string(bot_port) + "/chat"},
                          {"secret", chat_secret},
                          {"timeout_ms", chat_timeout_ms}}}};
    return {"--services", services.dump(), "--auth.api_keys", chat_api_key};
}

TEST(e2e_chat, answers_published_on_another_instance_reach_the_client_once) {
    chatbot_process bot(chat_secret);
    cluster c(false, chat_args(bot.port()));
    http_client api_b = c.api(1);
    api_b.set_api_key(chat_api_key);

    ws_client alice_a, alice_c, bystander_b;
    alice_a.connect(c.port(0), "/ws?user=alice");
    alice_c.connect(c.port(2), "/ws?user=alice");
    bystander_b.connect(c.port(1));

    // Handed to the bot, which answers 204: the answer comes later, through instance b.
    alice_a.send_json(send_frame("silent", 7));
    EXPECT_EQ(alice_a.read_json(), ack(7));
    api_b.publish_ok({{"reply_to", {{"connection", alice_a.connection_id()}, {"id", 7}}},
                      {"service", "chatbot"},
                      {"data", {{"text", "later"}}}});
    EXPECT_EQ(alice_a.read_json(), reply(7, "later"));

    // A push to the user reaches both of alice's connections, on instances a and c, once.
    api_b.publish_ok({{"user", "alice"}, {"service", "chatbot"}, {"data", {{"text", "hi"}}}});
    EXPECT_EQ(alice_a.read_json(), message("hi"));
    EXPECT_EQ(alice_c.read_json(), message("hi"));

    // Then a broadcast marker: the next frame everyone reads; nothing came twice or astray.
    const std::string marker = api_b.publish_ok({{"broadcast", true}, {"event", "marker"}});
    for (ws_client* client : {&alice_a, &alice_c, &bystander_b}) {
        const json next = client->read_json();
        EXPECT_EQ(next.value("event", ""), "marker") << next.dump();
        EXPECT_EQ(next.value("id", ""), marker);
    }
}

}  // namespace
}  // namespace wsgate::test::e2e
