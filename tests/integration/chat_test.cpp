// Clients chat with a backend service through the gateway (docs/services.md): the `http`
// (webhook) transport against the example bot in examples/chatbot, and answers through REST.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat_rig.hpp"
#include "chatbot_process.hpp"
#include "expectations.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* shared_secret = chat_secret;
constexpr int timeout_ms = chat_timeout_ms;

/// Starts a rig with `setup`, sends `text` with `id` from a client and checks that the answer
/// is an error with `code`.
void expect_send_refused(const chat_setup& setup, const std::string& text, int id,
                         const std::string& code) {
    chat_rig rig(setup);
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame(text, id));

    expect_error(client.read_json(), id, code);
}

TEST(chat, message_is_acknowledged_then_answered_to_the_sender_only) {
    chat_rig rig;
    ws_client sender, bystander;
    connect_all(rig.port(), {&sender, &bystander});

    sender.send_json(send_frame("hello", 7));

    EXPECT_EQ(sender.read_json(), ack(7));
    EXPECT_EQ(sender.read_json(), reply(7, "echo: hello"));
    expect_marker_next(rig.api(), {&sender, &bystander});
}

TEST(chat, string_request_ids_come_back_unchanged) {
    chat_rig rig;
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("hi", "req-1"));

    EXPECT_EQ(client.read_json(), ack("req-1"));
    EXPECT_EQ(client.read_json(), reply("req-1", "echo: hi"));
}

TEST(chat, hundred_clients_sending_at_once_get_only_their_own_replies_in_order) {
    constexpr int client_count = 100;
    constexpr int messages_each = 5;
    chat_rig rig;
    const auto clients = connect_clients(rig.port(), client_count);
    expect_each_client_answered_in_order(clients, messages_each);
    expect_marker_next(rig.api(), client_pointers(clients));
}

TEST(chat, replies_to_one_client_keep_the_order_of_its_messages) {
    chat_rig rig;
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("slow 300", 1));
    client.send_json(send_frame("quick", 2));

    std::vector<json> replies;
    for (const json& frame : read_frames(client, 4)) {
        if (frame.value("type", "") == "reply") replies.push_back(frame);
    }
    EXPECT_EQ(replies, (std::vector<json>{reply(1, "slow"), reply(2, "echo: quick")}));
}

TEST(chat, every_reply_follows_the_ack_of_its_message) {
    chat_rig rig;
    ws_client client;
    client.connect(rig.port());
    for (int m = 0; m < 10; ++m) {
        client.send_json(send_frame("m" + std::to_string(m), m));
    }

    std::vector<int> acked;
    for (const json& frame : read_frames(client, 20)) {
        const int id = frame.at("id").get<int>();
        if (frame["type"] == "ack") {
            acked.push_back(id);
        } else {
            EXPECT_EQ(frame, reply(id, "echo: m" + std::to_string(id)));
            EXPECT_NE(std::find(acked.begin(), acked.end(), id), acked.end())
                << "reply " << id << " before its ack";
        }
    }
    EXPECT_EQ(acked.size(), 10u);
}

TEST(chat, a_slow_answer_does_not_hold_up_other_clients) {
    chat_rig rig;
    ws_client waiting, chatting;
    connect_all(rig.port(), {&waiting, &chatting});

    const auto start = std::chrono::steady_clock::now();
    waiting.send_json(send_frame("slow 700", 1));
    chatting.send_json(send_frame("quick", 2));

    EXPECT_EQ(chatting.read_json(), ack(2));
    EXPECT_EQ(chatting.read_json(), reply(2, "echo: quick"));
    EXPECT_LT(elapsed_ms(start), 500) << "the quick answer waited for the slow one";
    EXPECT_EQ(waiting.read_json(), ack(1));
    EXPECT_EQ(waiting.read_json(), reply(1, "slow"));
    EXPECT_GE(elapsed_ms(start), 650);
}

TEST(chat, an_answer_without_body_is_acknowledged_only) {
    chat_rig rig;
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("silent", 3));

    EXPECT_EQ(client.read_json(), ack(3));
    expect_marker_next(rig.api(), {&client});
}

TEST(chat, a_push_from_the_service_reaches_only_that_connection) {
    chat_rig rig;
    ws_client sender, bystander;
    connect_all(rig.port(), {&sender, &bystander});

    sender.send_json(send_frame("push", 4));

    // The ack answers the webhook; the push comes over REST: their order is not specified.
    EXPECT_EQ(sorted(read_frames(sender, 2)), sorted({ack(4), message("pushed")}));
    expect_marker_next(rig.api(), {&sender, &bystander});
}

TEST(chat, a_later_answer_through_rest_arrives_as_reply_with_the_original_id) {
    chat_rig rig;
    ws_client sender, bystander;
    connect_all(rig.port(), {&sender, &bystander});

    sender.send_json(send_frame("later", 5));

    EXPECT_EQ(sorted(read_frames(sender, 2)), sorted({ack(5), reply(5, "later")}));
    expect_marker_next(rig.api(), {&sender, &bystander});
}

TEST(chat, rest_can_push_to_every_connection_of_a_user) {
    chat_setup setup;
    setup.gateway_args = {"--auth.insecure_dev_user", "true"};
    chat_rig rig(setup);
    ws_client phone, laptop, bob;
    phone.connect(rig.port(), "/ws?user=alice");
    laptop.connect(rig.port(), "/ws?user=alice");
    bob.connect(rig.port(), "/ws?user=bob");

    const auto res = rig.api().publish(
        {{"user", "alice"}, {"service", "chatbot"}, {"data", {{"text", "to every tab"}}}});

    EXPECT_EQ(res.status, 202u) << res.body;
    EXPECT_EQ(phone.read_json(), message("to every tab"));
    EXPECT_EQ(laptop.read_json(), message("to every tab"));
    expect_marker_next(rig.api(), {&phone, &laptop, &bob});
}

TEST(chat, unknown_service_is_refused) {
    chat_rig rig;
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("hello", 6, "nosuchservice"));

    expect_error(client.read_json(), 6, "unknown_service");
    EXPECT_TRUE(client.ping());
}

TEST(chat, data_larger_than_max_bytes_is_refused_and_data_at_the_limit_is_not) {
    chat_setup setup;
    setup.service["max_bytes"] = 64;
    chat_rig rig(setup);
    ws_client client;
    client.connect(rig.port());
    const std::string at_limit(64 - json{{"text", ""}}.dump().size(), 'a');
    ASSERT_EQ(json({{"text", at_limit}}).dump().size(), 64u);

    client.send_json(send_frame(at_limit + "a", 8));
    expect_error(client.read_json(), 8, "too_large");

    client.send_json(send_frame(at_limit, 9));
    EXPECT_EQ(client.read_json(), ack(9));
    EXPECT_EQ(client.read_json(), reply(9, "echo: " + at_limit));
}

TEST(chat, service_that_is_not_running_is_unavailable_at_once) {
    chat_setup setup;
    setup.start_bot = false;
    chat_rig rig(setup);
    ws_client client;
    client.connect(rig.port());

    const auto start = std::chrono::steady_clock::now();
    client.send_json(send_frame("hello", 10));

    expect_error(client.read_json(), 10, "service_unavailable");
    EXPECT_LT(elapsed_ms(start), timeout_ms);
}

TEST(chat, service_killed_is_unavailable_while_other_traffic_flows) {
    chat_rig rig;
    http_client api = rig.api();
    ws_client client;
    client.connect(rig.port());
    client.subscribe("news");
    client.send_json(send_frame("before", 1));
    ASSERT_EQ(client.read_json(), ack(1));
    ASSERT_EQ(client.read_json(), reply(1, "echo: before"));  // a pooled connection to the bot

    rig.bot().kill();
    const auto start = std::chrono::steady_clock::now();
    client.send_json(send_frame("after", 2));
    client.send_json({{"type", "ping"}, {"id", 3}});
    const std::string event_id = api.publish_ok(channel_event("news", "still.here"));

    bool got_error = false, got_pong = false, got_event = false;
    for (const json& frame : read_frames(client, 3)) {
        if (frame.value("type", "") == "error") {
            expect_error(frame, 2, "service_unavailable");
            EXPECT_LE(elapsed_ms(start), timeout_ms + 200);
            got_error = true;
        } else if (frame.value("type", "") == "pong") {
            EXPECT_EQ(frame, (json{{"type", "pong"}, {"id", 3}}));
            got_pong = true;
        } else {
            expect_event(frame, event_id, "still.here", "news");
            got_event = true;
        }
    }
    EXPECT_TRUE(got_error && got_pong && got_event);
}

TEST(chat, service_answering_too_late_times_out_while_other_traffic_flows) {
    chat_rig rig;
    http_client api = rig.api();
    ws_client client;
    client.connect(rig.port());
    client.subscribe("news");

    const auto start = std::chrono::steady_clock::now();
    client.send_json(send_frame("slow 3000", 11));
    EXPECT_TRUE(client.ping());
    const std::string event_id = api.publish_ok(channel_event("news", "meanwhile"));
    expect_event(client.read_json(), event_id, "meanwhile", "news");
    EXPECT_LT(elapsed_ms(start), timeout_ms / 2) << "ping and event waited for the service";

    expect_error(client.read_json(), 11, "timeout");
    const auto waited = elapsed_ms(start);
    EXPECT_GE(waited, timeout_ms - 50);
    EXPECT_LE(waited, timeout_ms + 200);
    // Nothing arrives from the late answer: the next frame is the marker.
    expect_marker_next(api, {&client});
}

TEST(chat, service_failing_with_5xx_is_unavailable) {
    chat_rig rig;
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("fail", 12));

    expect_error(client.read_json(), 12, "service_unavailable");
    client.send_json(send_frame("again", 13));  // the gateway keeps using the service
    EXPECT_EQ(client.read_json(), ack(13));
    EXPECT_EQ(client.read_json(), reply(13, "echo: again"));
}

TEST(chat, service_refusing_with_4xx_is_rejected) {
    expect_send_refused({}, "reject", 14, "rejected");
}

TEST(chat, service_with_another_secret_rejects_every_message) {
    chat_setup setup;
    setup.bot_secret = "a-different-secret-9876543210";
    expect_send_refused(setup, "hello", 15, "rejected");
}

TEST(chat, service_for_users_refuses_anonymous_clients_and_admits_users) {
    chat_setup setup;
    setup.service["allow"] = "users";
    setup.gateway_args = {"--auth.insecure_dev_user", "true"};
    chat_rig rig(setup);
    ws_client anonymous, alice;
    anonymous.connect(rig.port());
    alice.connect(rig.port(), "/ws?user=alice");

    anonymous.send_json(send_frame("hello", 16));
    alice.send_json(send_frame("hello", 17));

    expect_error(anonymous.read_json(), 16, "forbidden");
    EXPECT_EQ(alice.read_json(), ack(17));
    EXPECT_EQ(alice.read_json(), reply(17, "echo: hello"));
}

TEST(chat, send_errors_are_counted_in_metrics) {
    chat_setup setup;
    setup.service["max_bytes"] = 64;
    chat_rig rig(setup);
    http_client api = rig.api();
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("hello", 1, "nosuchservice"));
    client.send_json(send_frame(std::string(100, 'x'), 2));
    client.send_json(send_frame("reject", 3));
    client.send_json(send_frame("fail", 4));
    client.send_json(send_frame("fail", 5));
    for (const json& frame : read_frames(client, 5)) {
        EXPECT_EQ(frame.value("type", ""), "error") << frame;
    }

    EXPECT_EQ(api.wait_metric(ws_errors("unknown_service"), 1), 1);
    EXPECT_EQ(api.wait_metric(ws_errors("too_large"), 1), 1);
    EXPECT_EQ(api.wait_metric(ws_errors("rejected"), 1), 1);
    EXPECT_EQ(api.wait_metric(ws_errors("service_unavailable"), 2), 2);
}

TEST(chat, forbidden_and_timed_out_sends_are_counted_in_metrics) {
    chat_setup setup;
    setup.service["allow"] = "users";
    setup.gateway_args = {"--auth.insecure_dev_user", "true"};
    chat_rig rig(setup);
    http_client api = rig.api();
    ws_client anonymous, alice;
    anonymous.connect(rig.port());
    alice.connect(rig.port(), "/ws?user=alice");

    anonymous.send_json(send_frame("hello", 1));
    alice.send_json(send_frame("slow 3000", 2));
    expect_error(anonymous.read_json(), 1, "forbidden");
    expect_error(alice.read_json(), 2, "timeout");

    EXPECT_EQ(api.wait_metric(ws_errors("forbidden"), 1), 1);
    EXPECT_EQ(api.wait_metric(ws_errors("timeout"), 1), 1);
}

TEST(chatbot, refuses_requests_without_a_valid_signature) {
    chatbot_process bot(shared_secret);
    http_client direct(bot.port());
    const std::string body =
        R"({"service":"chatbot","connection":"c-1","user":null,"id":1,"data":{"text":"hi"}})";
    const auto now = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());

    const auto unsigned_request = direct.post_json("/chat", body);
    const auto wrong_signature = direct.post_json(
        "/chat", body,
        {{"X-Wsgate-Timestamp", now}, {"X-Wsgate-Signature", "sha256=" + std::string(64, '0')}});
    const auto malformed_signature = direct.post_json(
        "/chat", body, {{"X-Wsgate-Timestamp", now}, {"X-Wsgate-Signature", "sha256=zz"}});

    for (const auto* res : {&unsigned_request, &wrong_signature, &malformed_signature}) {
        EXPECT_EQ(res->status, 401u) << res->body;
        EXPECT_EQ(res->json, (json{{"error", "bad signature"}})) << res->body;
    }
}

}  // namespace
}  // namespace wsgate::test
