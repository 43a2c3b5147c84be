// Three wsgate instances sharing one real Redis (and HAProxy in front): which clients an event
// reaches, wherever they are connected and wherever the event was published.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "expectations.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;

std::vector<ws_client*> pointers(const std::vector<std::unique_ptr<ws_client>>& clients) {
    std::vector<ws_client*> out;
    for (const auto& c : clients) {
        out.push_back(c.get());
    }
    return out;
}

TEST(e2e_delivery, clients_through_the_load_balancer_land_on_every_instance) {
    cluster c(true);
    constexpr int client_count = 9;
    std::vector<std::unique_ptr<ws_client>> clients;
    std::map<std::string, int> by_welcome;
    for (int i = 0; i < client_count; ++i) {
        clients.push_back(std::make_unique<ws_client>());
        const json welcome = clients.back()->connect(c.lb->port());
        ++by_welcome[instance_of(welcome["connection"].get<std::string>())];
    }

    double total = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        const double here = c.metric(i, "wsgate_connections");
        EXPECT_GE(here, 1) << "instance " << cluster::ids[i] << " got no client through HAProxy";
        EXPECT_EQ(here, by_welcome[cluster::ids[i]])
            << "instance " << cluster::ids[i] << ": /metrics and the welcome frames disagree";
        total += here;
    }
    EXPECT_EQ(total, client_count);

    // A broadcast published on each instance, and one through the load balancer, reaches every
    // client exactly once and in publication order.
    std::vector<std::string> event_ids;
    for (std::size_t i = 0; i < 3; ++i) {
        event_ids.push_back(c.api(i).publish_ok(broadcast_event("tick", {{"seq", i}})));
    }
    event_ids.push_back(c.lb_api().publish_ok(broadcast_event("tick", {{"seq", 3}})));
    for (auto& client : clients) {
        expect_sequence(*client, event_ids, "tick", std::nullopt);
    }
    expect_marker_next(c.api(1), pointers(clients));
}

TEST(e2e_delivery, channel_event_reaches_subscribers_on_other_instances_once_and_in_order) {
    cluster c(true);
    // Subscribers of "news" on b and c only (plus two through the load balancer); a has clients,
    // but none subscribed to "news".
    ws_client news_b, news_c, sports_a, plain_a, plain_b;
    news_b.connect(c.port(1));
    news_c.connect(c.port(2));
    sports_a.connect(c.port(0));
    plain_a.connect(c.port(0));
    plain_b.connect(c.port(1));
    ws_client news_lb1, news_lb2;
    news_lb1.connect(c.lb->port());
    news_lb2.connect(c.lb->port());
    for (ws_client* s : {&news_b, &news_c, &news_lb1, &news_lb2}) {
        s->subscribe("news");
    }
    sports_a.subscribe("sports");
    std::set<std::string> news_instances{"b", "c", instance_of(news_lb1.connection_id()),
                                         instance_of(news_lb2.connection_id())};
    c.wait_numsub("ch:news", static_cast<long long>(news_instances.size()));

    // Ingested by an instance without any subscriber of its own.
    const json data{{"title", "Hello"}, {"tags", {"a", "b"}}};
    const std::string first = c.api(0).publish_ok(channel_event("news", "article.created", data));
    for (ws_client* s : {&news_b, &news_c, &news_lb1, &news_lb2}) {
        expect_event(s->read_json(), first, "article.created", "news", data);
    }

    // A run of events, each ingested by a different instance or by the load balancer: every
    // subscriber sees all of them, once, in the order they were accepted.
    std::vector<std::string> ids;
    for (int seq = 0; seq < 24; ++seq) {
        const http_client api = seq % 4 == 3 ? c.lb_api() : c.api(static_cast<std::size_t>(seq % 4));
        ids.push_back(api.publish_ok(channel_event("news", "tick", {{"seq", seq}})));
    }
    for (ws_client* s : {&news_b, &news_c, &news_lb1, &news_lb2}) {
        SCOPED_TRACE("subscriber " + s->connection_id());
        expect_sequence(*s, ids, "tick", "news");
    }
    expect_marker_next(c.api(0), {&news_b, &news_c, &news_lb1, &news_lb2, &sports_a, &plain_a,
                                  &plain_b});
}

TEST(e2e_delivery, user_event_reaches_that_user_on_every_instance_only) {
    cluster c(true);
    ws_client alice_a, alice_c, alice_lb, bob_b, anonymous_a;
    EXPECT_EQ(alice_a.connect(c.port(0), "/ws?user=alice")["user"], "alice");
    EXPECT_EQ(alice_c.connect(c.port(2), "/ws?user=alice")["user"], "alice");
    EXPECT_EQ(alice_lb.connect(c.lb->port(), "/ws?user=alice")["user"], "alice");
    EXPECT_EQ(bob_b.connect(c.port(1), "/ws?user=bob")["user"], "bob");
    anonymous_a.connect(c.port(0));
    std::set<std::string> alice_instances{"a", "c", instance_of(alice_lb.connection_id())};
    c.wait_numsub("user:alice", static_cast<long long>(alice_instances.size()));
    c.wait_numsub("user:bob", 1);

    // Published on b, where alice has no connection unless the load balancer put one there.
    const std::string id = c.api(1).publish_ok(user_event("alice", "inbox.updated", 42));
    const std::string via_lb = c.lb_api().publish_ok(user_event("alice", "inbox.updated", 43));
    for (ws_client* a : {&alice_a, &alice_c, &alice_lb}) {
        expect_event(a->read_json(), id, "inbox.updated", std::nullopt, 42);
        expect_event(a->read_json(), via_lb, "inbox.updated", std::nullopt, 43);
    }
    expect_marker_next(c.api(2), {&alice_a, &alice_c, &alice_lb, &bob_b, &anonymous_a});
}

TEST(e2e_delivery, connection_event_reaches_only_that_connection_from_any_instance) {
    cluster c(true);
    ws_client on_a, target_c, on_b, other_c;
    on_a.connect(c.port(0));
    target_c.connect(c.port(2));
    on_b.connect(c.port(1));
    other_c.connect(c.port(2));
    ASSERT_EQ(instance_of(target_c.connection_id()), "c") << target_c.connection_id();

    std::vector<std::string> ids;
    for (std::size_t i = 0; i < 3; ++i) {
        ids.push_back(
            c.api(i).publish_ok(connection_event(target_c.connection_id(), "direct", {{"seq", i}})));
    }
    ids.push_back(
        c.lb_api().publish_ok(connection_event(target_c.connection_id(), "direct", {{"seq", 3}})));
    expect_sequence(target_c, ids, "direct", std::nullopt);
    expect_marker_next(c.api(0), {&on_a, &target_c, &on_b, &other_c});
}

TEST(e2e_delivery, mixed_targets_in_one_batch_arrive_in_array_order_across_instances) {
    cluster c;
    ws_client alice_b, sub_c;
    alice_b.connect(c.port(1), "/ws?user=alice");
    sub_c.connect(c.port(2));
    sub_c.subscribe("orders");
    c.wait_numsub("ch:orders", 1);
    c.wait_numsub("user:alice", 1);

    const json batch = json::array({channel_event("orders", "created", 1),
                                    user_event("alice", "mine", 2),
                                    connection_event(sub_c.connection_id(), "direct", 3),
                                    broadcast_event("everyone", 4),
                                    channel_event("orders", "paid", 5)});
    const auto ids = c.api(0).publish_batch_ok(batch);
    ASSERT_EQ(ids.size(), 5u);
    expect_event(sub_c.read_json(), ids[0], "created", "orders", 1);
    expect_event(sub_c.read_json(), ids[2], "direct", std::nullopt, 3);
    expect_event(sub_c.read_json(), ids[3], "everyone", std::nullopt, 4);
    expect_event(sub_c.read_json(), ids[4], "paid", "orders", 5);
    expect_event(alice_b.read_json(), ids[1], "mine", std::nullopt, 2);
    expect_event(alice_b.read_json(), ids[3], "everyone", std::nullopt, 4);
    expect_marker_next(c.api(0), {&alice_b, &sub_c});
}

TEST(e2e_delivery, instance_without_subscribers_gets_no_channel_traffic_from_redis) {
    cluster c;
    ws_client quiet_b, idle_a, idle_c;
    quiet_b.connect(c.port(1));
    idle_a.connect(c.port(0));
    idle_c.connect(c.port(2));
    idle_a.subscribe("elsewhere");
    quiet_b.subscribe("quiet");
    c.wait_numsub("ch:quiet", 1);  // only b subscribed in Redis
    c.wait_numsub("ch:elsewhere", 1);
    EXPECT_EQ(c.redis.numsub(redis_prefix + "ch:nobody"), 0);

    const std::string received = "wsgate_redis_received_total";
    const double a_before = c.metric(0, received);
    const double b_before = c.metric(1, received);
    const double c_before = c.metric(2, received);
    ASSERT_GE(a_before, 0) << "no " << received << " in /metrics";

    constexpr int count = 10;
    std::vector<std::string> ids;
    for (int seq = 0; seq < count; ++seq) {  // ingested by a, which has no subscriber of "quiet"
        ids.push_back(c.api(0).publish_ok(channel_event("quiet", "tick", {{"seq", seq}})));
    }
    expect_sequence(quiet_b, ids, "tick", "quiet");

    EXPECT_EQ(c.metric(1, received), b_before + count);
    EXPECT_EQ(c.metric(0, received), a_before) << "a received channel traffic it has no use for";
    EXPECT_EQ(c.metric(2, received), c_before) << "c received channel traffic it has no use for";

    // Once the last local subscriber leaves, the instance unsubscribes in Redis too.
    quiet_b.unsubscribe("quiet");
    c.wait_numsub("ch:quiet", 0);
    c.api(0).publish_ok(channel_event("quiet", "nobody_listens"));
    expect_marker_next(c.api(0), {&quiet_b, &idle_a, &idle_c});
}

TEST(e2e_delivery, event_of_100_kib_crosses_redis_intact) {
    cluster c;
    ws_client on_a, on_b, on_c;
    on_a.connect(c.port(0));
    on_b.connect(c.port(1));
    on_c.connect(c.port(2));
    for (ws_client* client : {&on_a, &on_b, &on_c}) {
        client->subscribe("big");
    }
    c.wait_numsub("ch:big", 3);

    // 100 KiB of varied text (so that a shifted or repeated chunk would show), plus structure
    // and non-ASCII characters around it.
    std::string blob;
    for (int i = 0; blob.size() < 100 * 1024; ++i) {
        blob += std::to_string(i) + (i % 7 == 0 ? "\n" : ",");
    }
    blob.resize(100 * 1024);
    const json data{{"blob", blob}, {"unicode", "h\u00e9llo \u2603"}, {"n", {1, 2, 3}}};
    const json small{{"after", true}};

    const std::string big_id = c.api(1).publish_ok(channel_event("big", "large", data));
    const auto batch_ids = c.api(2).publish_batch_ok(
        json::array({channel_event("big", "large", data), channel_event("big", "small", small),
                     channel_event("big", "large", data)}));
    ASSERT_EQ(batch_ids.size(), 3u);
    for (ws_client* client : {&on_a, &on_b, &on_c}) {
        SCOPED_TRACE("subscriber " + client->connection_id());
        const json first = client->read_json();
        EXPECT_EQ(first.value("id", ""), big_id);
        EXPECT_TRUE(first["data"] == data) << "the 100 KiB event arrived altered (size "
                                           << first["data"].dump().size() << ")";
        expect_event(client->read_json(), batch_ids[0], "large", "big", data);
        expect_event(client->read_json(), batch_ids[1], "small", "big", small);
        expect_event(client->read_json(), batch_ids[2], "large", "big", data);
    }
    EXPECT_EQ(c.metric(0, "wsgate_redis_bad_messages_total"), 0);
    expect_marker_next(c.api(0), {&on_a, &on_b, &on_c});
}

}  // namespace
}  // namespace wsgate::test::e2e
