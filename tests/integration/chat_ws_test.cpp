// Clients chat with a backend service through the gateway's `websocket` transport
// (docs/services.md): one upstream WebSocket per client to the example bot's /ws-chat.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chat_rig.hpp"
#include "expectations.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

chat_setup ws_setup() {
    chat_setup setup;
    setup.transport = "websocket";
    return setup;
}

/// The bot's count of open upstream WebSockets (GET /stats).
long long bot_websockets(chat_rig& rig) {
    const auto res = http_client(rig.bot().port()).get("/stats");
    EXPECT_EQ(res.status, 200u) << res.body;
    return res.json.value("websockets", -1LL);
}

/// Polls the bot until it counts `expected` open upstream WebSockets (or 5 s pass).
long long wait_bot_websockets(chat_rig& rig, long long expected) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    long long now = bot_websockets(rig);
    while (now != expected && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        now = bot_websockets(rig);
    }
    return now;
}

json closed_error() {
    return {{"type", "error"},
            {"code", "service_unavailable"},
            {"message", "chatbot closed the connection"}};
}

TEST(chat_ws, message_is_acknowledged_then_answered_to_the_sender_only) {
    chat_rig rig(ws_setup());
    ws_client sender, bystander;
    sender.connect(rig.port());
    bystander.connect(rig.port());

    sender.send_json(send_frame("hello", 7));
    EXPECT_EQ(sender.read_json(), ack(7));
    EXPECT_EQ(sender.read_json(), reply(7, "echo: hello"));

    sender.send_json(send_frame("again", "req-2"));  // over the same upstream WebSocket
    EXPECT_EQ(sender.read_json(), ack("req-2"));
    EXPECT_EQ(sender.read_json(), reply("req-2", "echo: again"));
    EXPECT_EQ(bot_websockets(rig), 1);
    expect_marker_next(rig.api(), {&sender, &bystander});
}

TEST(chat_ws, twenty_clients_sending_at_once_get_only_their_own_replies_in_order) {
    constexpr int client_count = 20;
    constexpr int messages_each = 5;
    chat_rig rig(ws_setup());
    const auto clients = connect_clients(rig.port(), client_count);
    expect_each_client_answered_in_order(clients, messages_each);
    EXPECT_EQ(bot_websockets(rig), client_count);
    expect_marker_next(rig.api(), client_pointers(clients));
}

TEST(chat_ws, a_push_from_the_service_reaches_only_that_connection) {
    chat_rig rig(ws_setup());
    ws_client sender, bystander;
    sender.connect(rig.port());
    bystander.connect(rig.port());

    sender.send_json(send_frame("push", 4));

    EXPECT_EQ(sorted(read_frames(sender, 2)), sorted({ack(4), message("pushed")}));
    expect_marker_next(rig.api(), {&sender, &bystander});
}

TEST(chat_ws, service_that_is_not_running_is_unavailable_at_once) {
    chat_setup setup = ws_setup();
    setup.start_bot = false;
    chat_rig rig(setup);
    ws_client client;
    client.connect(rig.port());

    const auto start = std::chrono::steady_clock::now();
    client.send_json(send_frame("hello", 10));
    client.send_json(send_frame("queued behind it", 11));

    expect_error(client.read_json(), 10, "service_unavailable");
    expect_error(client.read_json(), 11, "service_unavailable");
    EXPECT_LT(elapsed_ms(start), chat_timeout_ms);
    EXPECT_TRUE(client.ping());
}

TEST(chat_ws, service_that_never_completes_the_handshake_times_out) {
    // A listening socket nobody accepts on: TCP connects, the WebSocket handshake never ends.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor silent(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    chat_setup setup = ws_setup();
    setup.start_bot = false;
    setup.service["url"] =
        "ws://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/ws-chat";
    chat_rig rig(setup);
    ws_client client;
    client.connect(rig.port());

    const auto start = std::chrono::steady_clock::now();
    client.send_json(send_frame("hello", 12));

    expect_error(client.read_json(), 12, "timeout");
    const auto waited = elapsed_ms(start);
    EXPECT_GE(waited, chat_timeout_ms - 50);
    EXPECT_LE(waited, chat_timeout_ms + 300);
}

TEST(chat_ws, service_closing_the_connection_is_reported_and_the_next_send_reconnects) {
    chat_rig rig(ws_setup());
    ws_client client, bystander;
    client.connect(rig.port());
    bystander.connect(rig.port());

    client.send_json(send_frame("close", 1));
    EXPECT_EQ(client.read_json(), ack(1));
    EXPECT_EQ(client.read_json(), closed_error());
    EXPECT_EQ(wait_bot_websockets(rig, 0), 0);

    client.send_json(send_frame("hello again", 2));
    EXPECT_EQ(client.read_json(), ack(2));
    EXPECT_EQ(client.read_json(), reply(2, "echo: hello again"));
    EXPECT_EQ(bot_websockets(rig), 1);
    expect_marker_next(rig.api(), {&client, &bystander});
}

TEST(chat_ws, service_killed_is_reported_once) {
    chat_rig rig(ws_setup());
    ws_client client;
    client.connect(rig.port());
    client.send_json(send_frame("before", 1));
    ASSERT_EQ(client.read_json(), ack(1));
    ASSERT_EQ(client.read_json(), reply(1, "echo: before"));

    rig.bot().kill();

    EXPECT_EQ(client.read_json(), closed_error());
    client.send_json(send_frame("after", 2));
    expect_error(client.read_json(), 2, "service_unavailable");
    expect_marker_next(rig.api(), {&client});
}

TEST(chat_ws, service_with_another_secret_refuses_the_handshake) {
    chat_setup setup = ws_setup();
    setup.bot_secret = "a-different-secret-9876543210";
    chat_rig rig(setup);
    ws_client client;
    client.connect(rig.port());

    client.send_json(send_frame("hello", 15));

    const json frame = client.read_json();
    expect_error(frame, 15, "service_unavailable");
    EXPECT_NE(frame.value("message", "").find("401"), std::string::npos) << frame;
    EXPECT_EQ(bot_websockets(rig), 0);
}

TEST(chat_ws, the_client_leaving_closes_its_upstream_websocket) {
    chat_rig rig(ws_setup());
    ws_client leaving, staying;
    leaving.connect(rig.port());
    staying.connect(rig.port());
    for (auto* client : {&leaving, &staying}) {
        client->send_json(send_frame("hello", 1));
        ASSERT_EQ(client->read_json(), ack(1));
        ASSERT_EQ(client->read_json(), reply(1, "echo: hello"));
    }
    ASSERT_EQ(bot_websockets(rig), 2);

    leaving.close();

    EXPECT_EQ(wait_bot_websockets(rig, 1), 1);
    staying.send_json(send_frame("still here", 2));  // the other upstream is untouched
    EXPECT_EQ(staying.read_json(), ack(2));
    EXPECT_EQ(staying.read_json(), reply(2, "echo: still here"));
}

TEST(chat_ws, upstream_connections_beyond_max_connections_are_refused_as_service_busy) {
    chat_setup setup = ws_setup();
    setup.service["max_connections"] = 2;
    chat_rig rig(setup);
    const std::string open_gauge = "wsgate_service_connections{service=\"chatbot\"}";
    ws_client first, second, third;
    for (auto* client : {&first, &second, &third}) client->connect(rig.port());
    for (auto* client : {&first, &second}) {
        client->send_json(send_frame("hello", 1));
        ASSERT_EQ(client->read_json(), ack(1));
        ASSERT_EQ(client->read_json(), reply(1, "echo: hello"));
    }

    third.send_json(send_frame("one too many", 3));

    const json refused = third.read_json();
    expect_error(refused, 3, "service_busy");
    EXPECT_NE(refused.value("message", "").find("at most 2"), std::string::npos) << refused;
    EXPECT_EQ(bot_websockets(rig), 2);
    EXPECT_EQ(rig.api().metric(ws_errors("service_busy")), 1);
    EXPECT_EQ(rig.api().metric(open_gauge), 2);

    // A connection given back makes room for the next client.
    first.close();
    EXPECT_EQ(rig.api().wait_metric(open_gauge, 1), 1);
    third.send_json(send_frame("room now", 4));
    EXPECT_EQ(third.read_json(), ack(4));
    EXPECT_EQ(third.read_json(), reply(4, "echo: room now"));
    EXPECT_EQ(rig.api().metric(open_gauge), 2);
    expect_marker_next(rig.api(), {&second, &third});
}

}  // namespace
}  // namespace wsgate::test
