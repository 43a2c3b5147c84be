// Which clients an event reaches, in which order, for every kind of target.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

/// A gateway, a REST client for it and one client subscribed to `channel`.
struct one_subscriber {
    explicit one_subscriber(const std::string& channel) {
        client.connect(gw.public_port());
        client.subscribe(channel);
    }

    gateway_process gw;
    http_client api{gw.api_port()};
    ws_client client;
};

TEST(delivery, channel_event_reaches_only_its_subscribers) {
    gateway_process gw;
    http_client api(gw.api_port());
    ws_client news_reader, other_reader, no_subscription, unsubscribed;
    connect_all(gw.public_port(), {&news_reader, &other_reader, &no_subscription, &unsubscribed});
    news_reader.subscribe("news");
    other_reader.subscribe("sports");
    unsubscribed.subscribe("news");
    unsubscribed.unsubscribe("news");

    const json data{{"title", "Hello"}, {"tags", {"a", "b"}}};
    const std::string id = api.publish_ok(channel_event("news", "article.created", data));

    expect_event(news_reader.read_json(), id, "article.created", "news", data);
    expect_marker_next(api, {&news_reader, &other_reader, &no_subscription, &unsubscribed});
}

TEST(delivery, user_event_reaches_every_connection_of_that_user_only) {
    gateway_process gw({"--auth.insecure_dev_user", "true"});
    http_client api(gw.api_port());
    ws_client alice_phone, alice_laptop, bob, anonymous;
    EXPECT_EQ(alice_phone.connect(gw.public_port(), "/ws?user=alice")["user"], "alice");
    EXPECT_EQ(alice_laptop.connect(gw.public_port(), "/ws?user=alice")["user"], "alice");
    EXPECT_EQ(bob.connect(gw.public_port(), "/ws?user=bob")["user"], "bob");
    EXPECT_TRUE(anonymous.connect(gw.public_port())["user"].is_null());

    const std::string id = api.publish_ok(user_event("alice", "inbox.updated", 42));

    expect_event(alice_phone.read_json(), id, "inbox.updated", std::nullopt, 42);
    expect_event(alice_laptop.read_json(), id, "inbox.updated", std::nullopt, 42);
    expect_marker_next(api, {&alice_phone, &alice_laptop, &bob, &anonymous});
}

TEST(delivery, connection_event_reaches_only_that_connection) {
    gateway_process gw;
    http_client api(gw.api_port());
    ws_client first, target, last;
    connect_all(gw.public_port(), {&first, &target, &last});
    ASSERT_FALSE(target.connection_id().empty());
    EXPECT_NE(first.connection_id(), target.connection_id());
    EXPECT_NE(last.connection_id(), target.connection_id());

    const std::string id = api.publish_ok(connection_event(target.connection_id(), "hello"));

    expect_event(target.read_json(), id, "hello", std::nullopt);
    expect_marker_next(api, {&first, &target, &last});
}

TEST(delivery, broadcast_event_reaches_every_client) {
    gateway_process gw({"--auth.insecure_dev_user", "true"});
    http_client api(gw.api_port());
    ws_client subscribed, plain, with_user;
    connect_all(gw.public_port(), {&subscribed, &plain});
    with_user.connect(gw.public_port(), "/ws?user=carol");
    subscribed.subscribe("news");

    const json data = json::array({1, "two", nullptr, {{"three", 3.5}}});
    const std::string id = api.publish_ok(broadcast_event("maintenance", data));

    for (ws_client* client : {&subscribed, &plain, &with_user}) {
        expect_event(client->read_json(), id, "maintenance", std::nullopt, data);
    }
    expect_marker_next(api, {&subscribed, &plain, &with_user});
}

TEST(delivery, event_without_data_arrives_with_null_data) {
    one_subscriber rig("news");

    const std::string id = rig.api.publish_ok({{"channel", "news"}, {"event", "bare"}});

    expect_event(rig.client.read_json(), id, "bare", "news", nullptr);
}

TEST(delivery, subscribing_twice_is_acknowledged_and_delivers_once) {
    one_subscriber rig("news");
    rig.client.subscribe("news");

    const std::string id = rig.api.publish_ok(channel_event("news", "once"));

    expect_event(rig.client.read_json(), id, "once", "news");
    expect_marker_next(rig.api, {&rig.client});
}

TEST(delivery, event_ids_are_unique_and_prefixed_by_the_instance_id) {
    gateway_process gw({"--server.instance_id", "itest_1"});
    http_client api(gw.api_port());
    ws_client client;
    EXPECT_EQ(client.connect(gw.public_port())["connection"].get<std::string>().rfind("itest_1", 0),
              0u);
    const std::string first = api.publish_ok(broadcast_event("a"));
    const std::string second = api.publish_ok(broadcast_event("b"));
    EXPECT_NE(first, second);
    EXPECT_EQ(first.rfind("itest_1", 0), 0u) << first;
}

TEST(delivery, thousand_events_reach_hundred_subscribers_complete_and_in_order) {
    constexpr int subscriber_count = 100;
    constexpr int event_count = 1000;
    constexpr int chunk = 250;
    // The clients are read one after the other, silent meanwhile, for as long as that takes
    // (half a minute under the sanitizers): no heartbeat may drop them.
    gateway_process gw({"--heartbeat.interval_ms", "600000"});
    http_client api(gw.api_port());
    const auto clients = connect_clients(gw.public_port(), subscriber_count, "load");

    std::vector<std::string> ids;
    for (int start = 0; start < event_count; start += chunk) {
        json batch = json::array();
        for (int seq = start; seq < start + chunk; ++seq) {
            batch.push_back(channel_event("load", "tick", {{"seq", seq}}));
        }
        const auto chunk_ids = api.publish_batch_ok(batch);
        ASSERT_EQ(chunk_ids.size(), static_cast<std::size_t>(chunk));
        ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
    }

    for (int c = 0; c < subscriber_count; ++c) {
        for (int seq = 0; seq < event_count; ++seq) {
            const json frame = clients[c]->read_json();
            if (frame.value("id", "") != ids[seq] || frame["data"] != json{{"seq", seq}}) {
                FAIL() << "subscriber " << c << " expected seq " << seq << " (" << ids[seq]
                       << "), got " << frame.dump();
            }
        }
    }
    expect_marker_next(api, client_pointers(clients));
}

TEST(delivery, batch_publish_answers_ids_and_delivers_in_array_order) {
    one_subscriber rig("orders");
    ws_client& client = rig.client;

    const json batch =
        json::array({channel_event("orders", "created", 1),
                     connection_event(client.connection_id(), "direct", 2),
                     broadcast_event("everyone", 3), channel_event("orders", "paid", 4)});
    const auto ids = rig.api.publish_batch_ok(batch);
    ASSERT_EQ(ids.size(), 4u);
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_NE(ids[2], ids[3]);

    expect_event(client.read_json(), ids[0], "created", "orders", 1);
    expect_event(client.read_json(), ids[1], "direct", std::nullopt, 2);
    expect_event(client.read_json(), ids[2], "everyone", std::nullopt, 3);
    expect_event(client.read_json(), ids[3], "paid", "orders", 4);
}

TEST(delivery, batch_with_one_invalid_item_publishes_nothing) {
    one_subscriber rig("orders");

    const json batch =
        json::array({channel_event("orders", "first"), channel_event("orders", "second"),
                     channel_event("bad channel!", "third")});
    const auto res = rig.api.publish_batch(batch);

    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.error_code(), "invalid_channel") << res.body;
    EXPECT_EQ(res.error_index(), 2) << res.body;
    expect_marker_next(rig.api, {&rig.client});
    EXPECT_EQ(rig.api.metric("wsgate_events_published_total"), 1.0);  // the marker only
}

}  // namespace
}  // namespace wsgate::test
