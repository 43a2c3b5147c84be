// Reaching what is not yours: another user's channel (subscribe and publish, refused with
// `error` forbidden), and a page from another site opening a WebSocket with the user's
// credentials (a spoofed Origin, refused with HTTP 403 origin_not_allowed).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "expectations.hpp"
#include "security_env.hpp"

namespace wsgate::test::security {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST_F(security_test, another_users_channel_is_refused) {
    const counter forbidden(errors_series("ws", "forbidden"));
    // mallory's token grants the rooms mallory-*, and user:mallory is hers by rule.
    auto mallory = connect_user("mallory", {{"channels", json::array({"room:mallory-*"})}});

    const std::vector<json> attempts{
        {{"type", "subscribe"}, {"channel", bystander_channel}, {"id", "sub-bob"}},
        {{"type", "subscribe"}, {"channel", "room:bob-private"}, {"id", "sub-room"}},
        {{"type", "publish"}, {"channel", bystander_channel}, {"event", "fake"}, {"id", "pub-bob"}},
        {{"type", "publish"},
         {"channel", "room:bob-private"},
         {"event", "fake"},
         {"id", "pub-room"}},
    };
    for (const auto& attempt : attempts) {
        const auto reply = mallory->request(attempt);
        EXPECT_EQ(reply.value("type", ""), "error") << reply.dump();
        EXPECT_EQ(reply.value("code", ""), "forbidden") << reply.dump();
        EXPECT_EQ(reply.value("id", json()), attempt["id"]) << reply.dump();
        note("mallory " + attempt["type"].get<std::string>() + " " +
             attempt["channel"].get<std::string>() + ": " + reply.dump());
    }

    // What her token does grant still works, and the connection was never in danger.
    mallory->subscribe("user:mallory");
    mallory->subscribe("room:mallory-team");
    EXPECT_TRUE(mallory->ping());

    // An event for bob reaches bob and nobody else.
    const std::string id = env().api().publish_ok(channel_event(bystander_channel, "private"));
    expect_event(env().bystander().read_json(), id, "private", bystander_channel);
    expect_marker_next(env().api(), {mallory.get(), &env().bystander()});

    EXPECT_EQ(forbidden.wait_growth(4), 4);
}

TEST_F(security_test, spoofed_origin_is_refused) {
    const counter refused(errors_series("handshake", "origin_not_allowed"));
    const std::vector<std::string> origins{
        "https://evil.example",
        "https://app.example.com.evil.example",  // the allowed origin as a prefix
        "http://app.example.com",                // another scheme
        "https://app.example.com:8443",          // another port
        "null",                                  // sandboxed frames, file: pages
    };
    for (const auto& origin : origins) {
        ws_client client;
        // The victim's valid credentials travel with the cross-site request.
        client.set_handshake_headers(
            {{"Origin", origin}, {"Authorization", "Bearer " + token_for("victim")}});
        const auto res = client.try_connect(env().gateway().public_port());
        EXPECT_FALSE(res.upgraded) << origin;
        EXPECT_EQ(res.status, 403u) << origin << ": " << res.body;
        const auto body = json::parse(res.body, nullptr, false);
        EXPECT_EQ(body.is_object() ? body["error"].value("code", "") : "", "origin_not_allowed")
            << origin << ": " << res.body;
        note("Origin " + origin + ": HTTP " + std::to_string(res.status) + " " + res.body);
    }

    // The application's own pages get in (origins compare case-insensitively).
    ws_client own;
    own.set_handshake_headers({{"Origin", "https://APP.example.com"},
                               {"Authorization", "Bearer " + token_for("victim")}});
    EXPECT_EQ(own.connect(env().gateway().public_port()).value("user", ""), "victim");

    EXPECT_EQ(refused.wait_growth(origins.size()), static_cast<double>(origins.size()));
}

}  // namespace
}  // namespace wsgate::test::security
