// Client authentication by JWT and channel permissions, through the real binary
// (docs/security.md). Attacks are in tests/security; these are the ordinary paths.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "chatbot_process.hpp"
#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "jwt_mint.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string secret = "an HS256 secret of at least 32 bytes!";

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string token_for(const std::string& sub, json extra = json::object()) {
    json claims{{"sub", sub}, {"exp", now_s() + 600}};
    claims.update(extra);
    return mint_hs256(secret, claims);
}

std::vector<std::string> hs256_args(std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--auth.jwt.algorithm=HS256", "--auth.jwt.secret=" + secret};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

json error_of(const json& frame) {
    EXPECT_EQ(frame.value("type", ""), "error") << frame.dump();
    return frame;
}

TEST(auth, a_token_in_the_query_makes_the_connection_its_user) {
    gateway_process gw(hs256_args());
    http_client api(gw.api_port());
    ws_client alice, anonymous;
    EXPECT_EQ(alice.connect(gw.public_port(), "/ws?token=" + token_for("alice"))["user"], "alice");
    EXPECT_TRUE(anonymous.connect(gw.public_port())["user"].is_null());

    const std::string id = api.publish_ok(user_event("alice", "inbox", 1));
    expect_event(alice.read_json(), id, "inbox", std::nullopt, 1);
    expect_marker_next(api, {&alice, &anonymous});
}

TEST(auth, an_auth_message_turns_an_anonymous_client_into_the_user) {
    gateway_process gw(hs256_args());
    http_client api(gw.api_port());
    ws_client client;
    EXPECT_TRUE(client.connect(gw.public_port())["user"].is_null());

    const auto bad = error_of(client.request({{"type", "auth"}, {"token", "not.a.token"}}));
    EXPECT_EQ(bad["code"], "unauthorized");
    EXPECT_NE(bad["message"].get<std::string>().find("malformed"), std::string::npos);

    EXPECT_EQ(client.request({{"type", "auth"}, {"token", token_for("bob")}})["type"], "ack");
    // The ack came once the user's events reach this instance.
    const std::string id = api.publish_ok(user_event("bob", "hello", 2));
    expect_event(client.read_json(), id, "hello", std::nullopt, 2);
    EXPECT_EQ(api.wait_metric(R"(wsgate_errors_total{source="auth",code="malformed"})", 1), 1);
}

TEST(auth, without_anonymous_clients_auth_must_come_first) {
    gateway_process gw(hs256_args({"--auth.anonymous=false", "--timeouts.welcome_ms=1000"}));
    http_client api(gw.api_port());

    ws_client good;
    ASSERT_TRUE(good.try_connect(gw.public_port()).upgraded);
    // The first frame is the welcome that follows the auth, already with the user.
    good.send_json({{"type", "auth"}, {"token", token_for("carol")}, {"id", 1}});
    const json welcome = good.read_json();
    EXPECT_EQ(welcome["type"], "welcome");
    EXPECT_EQ(welcome["user"], "carol");

    ws_client other_first;
    ASSERT_TRUE(other_first.try_connect(gw.public_port()).upgraded);
    other_first.send_json({{"type", "subscribe"}, {"channel", "news"}});
    auto closed = other_first.read_until_close();
    EXPECT_EQ(closed.code, 4001);
    EXPECT_EQ(closed.reason, "authentication required");

    ws_client bad_token;
    ASSERT_TRUE(bad_token.try_connect(gw.public_port()).upgraded);
    bad_token.send_json({{"type", "auth"}, {"token", mint_hs256("another secret of 32 bytes or more!!",
                                                                {{"sub", "carol"}})}});
    closed = bad_token.read_until_close();
    EXPECT_EQ(closed.code, 4002);
    EXPECT_EQ(closed.reason, "authentication failed: bad_signature");

    ws_client silent;
    ASSERT_TRUE(silent.try_connect(gw.public_port()).upgraded);
    closed = silent.read_until_close();
    EXPECT_EQ(closed.code, 4001);

    EXPECT_EQ(api.wait_metric(R"(wsgate_closes_total{reason="auth_required"})", 2), 2);
    EXPECT_EQ(api.wait_metric(R"(wsgate_closes_total{reason="auth_failed"})", 1), 1);
    EXPECT_TRUE(good.ping());
}

TEST(auth, a_connection_closes_when_its_token_expires_unless_refreshed) {
    gateway_process gw(hs256_args({"--auth.jwt.leeway_ms=0"}));
    http_client api(gw.api_port());
    // exp is in whole seconds: 2 s from now expires 1-2 s from now.
    const auto short_token = [](const std::string& sub) {
        return mint_hs256(secret, {{"sub", sub}, {"exp", now_s() + 2}});
    };
    ws_client expiring, refreshed;
    expiring.connect(gw.public_port(), "/ws?token=" + short_token("dave"));
    refreshed.connect(gw.public_port(), "/ws?token=" + short_token("erin"));

    EXPECT_EQ(refreshed.request({{"type", "refresh"}, {"token", token_for("erin")}})["type"],
              "ack");
    const auto other_user =
        error_of(refreshed.request({{"type", "refresh"}, {"token", token_for("mallory")}}));
    EXPECT_EQ(other_user["code"], "forbidden");

    const auto closed = expiring.read_until_close();
    EXPECT_EQ(closed.code, 4003);
    EXPECT_EQ(closed.reason, "token expired");
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(refreshed.ping()) << "the refreshed connection outlives its first token";
    EXPECT_EQ(api.wait_metric(R"(wsgate_closes_total{reason="token_expired"})", 1), 1);
}

TEST(auth, refresh_needs_an_authenticated_connection) {
    gateway_process gw(hs256_args());
    ws_client client;
    client.connect(gw.public_port());
    EXPECT_EQ(error_of(client.request({{"type", "refresh"}, {"token", token_for("x")}}))["code"],
              "unauthorized");
}

TEST(auth, rs256_and_es256_tokens_are_checked_with_the_public_key) {
    temp_dir dir;
    for (const auto& [alg, key] : {std::pair{std::string("RS256"), make_rsa_key()},
                                   std::pair{std::string("ES256"), make_ec_key()}}) {
        const auto pub = dir.write_file(alg + ".pem", key.public_pem);
        gateway_process gw({"--auth.jwt.algorithm=" + alg,
                            "--auth.jwt.public_key_file=" + pub.string()});
        ws_client client;
        const json claims{{"sub", "frank"}, {"exp", now_s() + 60}};
        const auto token = alg == "RS256" ? mint_rs256(key.private_pem, claims)
                                          : mint_es256(key.private_pem, claims);
        EXPECT_EQ(client.connect(gw.public_port(), "/ws?token=" + token)["user"], "frank") << alg;
        ws_client forged;
        const auto refused =
            forged.try_connect(gw.public_port(), "/ws?token=" + mint_hs256(key.public_pem, claims));
        EXPECT_EQ(refused.status, 401u) << alg << ": " << refused.body;
        EXPECT_NE(refused.body.find("unsupported_algorithm"), std::string::npos) << refused.body;
    }
}

TEST(auth, an_unusable_key_stops_start_up_with_one_line) {
    const auto r = gateway_process::run_to_completion(
        {"--auth.jwt.algorithm=HS256", "--auth.jwt.secret=short"});
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_NE(r.err.find("auth.jwt: "), std::string::npos) << r.err;
    const auto no_tokens = gateway_process::run_to_completion({"--auth.anonymous=false"});
    EXPECT_EQ(no_tokens.exit_status, 2) << no_tokens.err;
    EXPECT_NE(no_tokens.err.find("auth.anonymous"), std::string::npos) << no_tokens.err;
}

const std::string rules =
    R"(--channels=[{"pattern":"user:{sub}","subscribe":"owner"},)"
    R"({"pattern":"room:*","subscribe":"claim","publish":"claim"},)"
    R"({"pattern":"members.*","subscribe":"users"},)"
    R"({"pattern":"news","subscribe":"anyone"}])";

TEST(channel_rules, each_access_kind_admits_only_its_clients) {
    gateway_process gw(hs256_args({rules}));
    ws_client alice, anonymous;
    alice.connect(gw.public_port(),
                  "/ws?token=" + token_for("alice", {{"channels", {"room:1*", "room:7"}}}));
    anonymous.connect(gw.public_port());

    const auto verdict = [](ws_client& c, const std::string& channel) {
        const json answer = c.request({{"type", "subscribe"}, {"channel", channel}});
        return answer["type"] == "ack" ? std::string("ack") : answer.value("code", "?");
    };
    EXPECT_EQ(verdict(alice, "user:alice"), "ack");
    EXPECT_EQ(verdict(alice, "user:bob"), "forbidden");
    EXPECT_EQ(verdict(alice, "room:12"), "ack");
    EXPECT_EQ(verdict(alice, "room:7"), "ack");
    EXPECT_EQ(verdict(alice, "room:8"), "forbidden");
    EXPECT_EQ(verdict(alice, "members.all"), "ack");
    EXPECT_EQ(verdict(alice, "elsewhere"), "forbidden");  // no rule
    EXPECT_EQ(verdict(anonymous, "news"), "ack");
    EXPECT_EQ(verdict(anonymous, "members.all"), "forbidden");
    EXPECT_EQ(verdict(anonymous, "user:alice"), "forbidden");
    EXPECT_EQ(verdict(anonymous, "room:12"), "forbidden");
}

TEST(channel_rules, clients_publish_only_where_a_rule_allows) {
    gateway_process gw(hs256_args({rules}));
    http_client api(gw.api_port());
    ws_client alice, listener;
    alice.connect(gw.public_port(), "/ws?token=" + token_for("alice", {{"channels", {"room:*"}}}));
    listener.connect(gw.public_port(), "/ws?token=" + token_for("bob", {{"channels", {"room:*"}}}));
    listener.subscribe("room:5");

    const json said = alice.request(
        {{"type", "publish"}, {"channel", "room:5"}, {"event", "say"}, {"data", {{"t", "hi"}}}});
    EXPECT_EQ(said["type"], "ack") << said.dump();
    const json event = listener.read_json();
    EXPECT_EQ(event["type"], "event");
    EXPECT_EQ(event["channel"], "room:5");
    EXPECT_EQ(event["event"], "say");
    EXPECT_EQ(event["data"], (json{{"t", "hi"}}));

    const json refused =
        alice.request({{"type", "publish"}, {"channel", "news"}, {"event", "fake"}});
    EXPECT_EQ(error_of(refused)["code"], "forbidden");
    expect_marker_next(api, {&listener});
}

TEST(channel_rules, by_default_anyone_subscribes_and_no_client_publishes) {
    gateway_process gw;
    ws_client client;
    client.connect(gw.public_port());
    client.subscribe("anything");
    const json refused = client.request({{"type", "publish"}, {"channel", "anything"},
                                         {"event", "e"}});
    EXPECT_EQ(error_of(refused)["code"], "forbidden");
}

TEST(channel_rules, a_rule_with_check_asks_the_webhook_and_fails_closed) {
    const std::string hook_secret = "subscribe-check secret";
    chatbot_process bot(hook_secret);
    gateway_process gw(hs256_args(
        {R"(--channels=[{"pattern":"club.*","subscribe":"users","check":true},)"
         R"({"pattern":"*","subscribe":"anyone"}])",
         "--auth.subscribe_check.url=" + bot.url("/subscribe-check"),
         "--auth.subscribe_check.secret=" + hook_secret}));
    http_client api(gw.api_port());
    ws_client alice, anonymous;
    alice.connect(gw.public_port(), "/ws?token=" + token_for("alice"));
    anonymous.connect(gw.public_port());

    EXPECT_EQ(alice.request({{"type", "subscribe"}, {"channel", "club.open"}})["type"], "ack");
    const auto closed = error_of(alice.request({{"type", "subscribe"}, {"channel", "club.closed"}}));
    EXPECT_EQ(closed["code"], "forbidden");
    EXPECT_NE(closed["message"].get<std::string>().find("club.closed is closed"),
              std::string::npos)
        << closed.dump();
    const auto failing =
        error_of(alice.request({{"type", "subscribe"}, {"channel", "club.check-fail"}}));
    EXPECT_EQ(failing["code"], "forbidden");
    EXPECT_NE(failing["message"].get<std::string>().find("unavailable"), std::string::npos)
        << failing.dump();
    // The rule refuses anonymous clients before the webhook is asked.
    EXPECT_EQ(error_of(anonymous.request({{"type", "subscribe"}, {"channel", "club.open"}}))["code"],
              "forbidden");
    EXPECT_EQ(anonymous.request({{"type", "subscribe"}, {"channel", "lobby"}})["type"], "ack");

    // The subscription allowed by the webhook delivers.
    const std::string id = api.publish_ok(channel_event("club.open", "hi", 1));
    expect_event(alice.read_json(), id, "hi", "club.open", 1);

    // With the bot gone, answers already cached still hold; new channels fail closed.
    bot.kill();
    ws_client later;
    later.connect(gw.public_port(), "/ws?token=" + token_for("alice"));
    EXPECT_EQ(later.request({{"type", "subscribe"}, {"channel", "club.open"}})["type"], "ack");
    EXPECT_EQ(error_of(later.request({{"type", "subscribe"}, {"channel", "club.new"}}))["code"],
              "forbidden");
}

TEST(origins, only_listed_origins_may_open_websockets) {
    gateway_process gw({"--server.allowed_origins=https://app.example.com,https://*.example.org"});
    http_client api(gw.api_port());
    http_client handshakes(gw.public_port());
    const auto upgrade_from = [&](const std::string& origin) {
        header_list headers{{"Connection", "Upgrade"},
                            {"Upgrade", "websocket"},
                            {"Sec-WebSocket-Version", "13"},
                            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
        if (!origin.empty()) headers.emplace_back("Origin", origin);
        return handshakes.request("GET", "/ws", {}, headers);
    };
    EXPECT_EQ(upgrade_from("https://app.example.com").status, 101u);
    EXPECT_EQ(upgrade_from("https://chat.example.org").status, 101u);
    const auto refused = upgrade_from("https://evil.example");
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(refused.error_code(), "origin_not_allowed") << refused.body;
    EXPECT_EQ(upgrade_from("http://app.example.com").status, 403u);
    // A non-browser client sends no Origin and is let in.
    ws_client no_origin;
    EXPECT_TRUE(no_origin.try_connect(gw.public_port()).upgraded);
    EXPECT_EQ(api.wait_metric(R"(wsgate_errors_total{source="handshake",code="origin_not_allowed"})",
                              2),
              2);
}

}  // namespace
}  // namespace wsgate::test
