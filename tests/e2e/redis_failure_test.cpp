// What the cluster does when Redis goes away, freezes, or drops its subscribers, and when one
// wsgate instance dies.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "expectations.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

long long ms_since(clock_type::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start)
        .count();
}

const std::string command_reconnects = R"(wsgate_redis_reconnects_total{connection="command"})";
const std::string subscriber_reconnects =
    R"(wsgate_redis_reconnects_total{connection="subscriber"})";

/// One subscriber of "news" on each instance and alice (user) on b.
struct audience {
    explicit audience(cluster& c) {
        news[0].connect(c.port(0));
        news[1].connect(c.port(1));
        news[2].connect(c.port(2));
        for (auto& client : news) {
            client.subscribe("news");
        }
        alice.connect(c.port(1), "/ws?user=alice");
        c.wait_numsub("ch:news", 3);
        c.wait_numsub("user:alice", 1);
    }
    std::vector<ws_client*> all() { return {&news[0], &news[1], &news[2], &alice}; }

    ws_client news[3];
    ws_client alice;
};

/// After a recovery: every client is still connected, and events published on every instance
/// reach them all, once, in order.
void expect_delivery_works(cluster& c, audience& who) {
    for (ws_client* client : who.all()) {
        EXPECT_TRUE(client->is_open());
    }
    EXPECT_EQ(c.redis.numsub(redis_prefix + "ch:news"), 3);
    EXPECT_EQ(c.redis.numsub(redis_prefix + "user:alice"), 1);
    std::vector<std::string> ids;
    for (int seq = 0; seq < 9; ++seq) {
        ids.push_back(c.api(static_cast<std::size_t>(seq % 3))
                          .publish_ok(channel_event("news", "after", {{"seq", seq}})));
    }
    const std::string to_alice = c.api(2).publish_ok(user_event("alice", "hello", 1));
    for (auto& client : who.news) {
        SCOPED_TRACE("news subscriber " + client.connection_id());
        expect_sequence(client, ids, "after", "news");
    }
    expect_event(who.alice.read_json(), to_alice, "hello", std::nullopt, 1);
    expect_marker_next(c.api(0), who.all());
}

TEST(e2e_redis_outage, redis_restart_turns_every_instance_unready_then_ready_again) {
    cluster c;
    audience who(c);
    std::vector<double> command_before, subscriber_before;
    for (std::size_t i = 0; i < 3; ++i) {
        command_before.push_back(c.metric(i, command_reconnects));
        subscriber_before.push_back(c.metric(i, subscriber_reconnects));
    }

    const auto stopped_at = clock_type::now();
    c.redis.stop();
    EXPECT_TRUE(wait_until([&] { return c.none_ready(); }, 2s, 20ms))
        << "still ready 2 s after Redis stopped: " << c.readiness_summary();
    std::cout << "[ figures  ] not ready " << ms_since(stopped_at) << " ms after Redis stopped\n";
    for (std::size_t i = 0; i < 3; ++i) {
        const auto res = c.api(i).get("/readyz");
        EXPECT_EQ(res.status, 503u) << cluster::ids[i] << ": " << res.body;
        EXPECT_EQ(res.json, json({{"status", "not_ready"}})) << res.body;
        EXPECT_EQ(c.metric(i, "wsgate_redis_ready"), 0);
        expect_rest_error(c.api(i).publish(channel_event("news", "lost")), 503, "bus_unavailable");
    }
    expect_rest_error(c.api(0).publish_batch(json::array({channel_event("news", "lost"),
                                                          broadcast_event("lost")})),
                      503, "bus_unavailable");

    // Down for about 3 s: nobody turns ready meanwhile, the clients stay connected.
    while (ms_since(stopped_at) < 3000) {
        EXPECT_TRUE(c.none_ready()) << c.readiness_summary();
        std::this_thread::sleep_for(200ms);
    }
    c.redis.start();
    const auto back_at = clock_type::now();
    const bool ready = wait_until([&] { return c.all_ready(); }, 2s, 20ms);
    const long long recovery_ms = ms_since(back_at);
    EXPECT_TRUE(ready) << "not ready again 2 s after Redis came back: " << c.readiness_summary();
    if (!ready) {
        wait_until([&] { return c.all_ready(); }, 10s, 50ms);  // so that the rest can be checked
    }
    std::cout << "[ figures  ] ready again " << recovery_ms << " ms after Redis answered PING\n";

    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_GT(c.metric(i, command_reconnects), command_before[i]) << cluster::ids[i];
        EXPECT_GT(c.metric(i, subscriber_reconnects), subscriber_before[i]) << cluster::ids[i];
        EXPECT_EQ(c.metric(i, R"(wsgate_redis_up{connection="subscriber"})"), 1);
        EXPECT_EQ(c.metric(i, R"(wsgate_redis_up{connection="command"})"), 1);
    }
    expect_delivery_works(c, who);
}

TEST(e2e_redis_outage, frozen_redis_turns_every_instance_unready_then_ready_again) {
    cluster c;
    audience who(c);

    const auto paused_at = clock_type::now();
    c.redis.pause();
    const bool unready = wait_until([&] { return c.none_ready(); }, 2s, 20ms);
    const long long detect_ms = ms_since(paused_at);
    EXPECT_TRUE(unready) << "still ready 2 s after Redis froze: " << c.readiness_summary();
    std::cout << "[ figures  ] not ready " << detect_ms << " ms after SIGSTOP\n";

    // A publish while Redis is frozen is not acknowledged: 503 (after redis.timeout_ms at most).
    for (std::size_t i = 0; i < 3; ++i) {
        const auto res = c.api(i).publish(channel_event("unheard", "frozen"));
        expect_rest_error(res, 503, "bus_unavailable");
    }

    while (ms_since(paused_at) < 5000) {
        EXPECT_TRUE(c.none_ready()) << c.readiness_summary();
        std::this_thread::sleep_for(200ms);
    }
    c.redis.resume();
    const auto resumed_at = clock_type::now();
    const bool ready = wait_until([&] { return c.all_ready(); }, 2s, 20ms);
    const long long recovery_ms = ms_since(resumed_at);
    EXPECT_TRUE(ready) << "not ready again 2 s after SIGCONT: " << c.readiness_summary();
    if (!ready) {
        wait_until([&] { return c.all_ready(); }, 10s, 50ms);
    }
    std::cout << "[ figures  ] ready again " << recovery_ms << " ms after SIGCONT\n";
    expect_delivery_works(c, who);
}

TEST(e2e_redis_outage, killed_pubsub_connections_are_replaced_within_a_second) {
    cluster c;
    audience who(c);
    std::vector<double> before;
    for (std::size_t i = 0; i < 3; ++i) {
        before.push_back(c.metric(i, subscriber_reconnects));
        ASSERT_GE(before.back(), 0) << "no " << subscriber_reconnects << " in /metrics";
    }

    const auto killed_at = clock_type::now();
    const std::string killed = c.redis.command({"CLIENT", "KILL", "TYPE", "pubsub"});
    EXPECT_EQ(killed, "3") << "one subscriber connection per instance";
    const bool back = wait_until(
        [&] {
            for (std::size_t i = 0; i < 3; ++i) {
                if (c.metric(i, subscriber_reconnects) <= before[i] ||
                    readiness(c.port(i)) != "ready") {
                    return false;
                }
            }
            return true;
        },
        1s, 10ms);
    const long long recovery_ms = ms_since(killed_at);
    EXPECT_TRUE(back) << "1 s after CLIENT KILL TYPE pubsub: " << c.readiness_summary()
                      << "; subscriber reconnects " << c.metric(0, subscriber_reconnects) << " "
                      << c.metric(1, subscriber_reconnects) << " "
                      << c.metric(2, subscriber_reconnects);
    if (!back) {
        wait_until([&] { return c.all_ready(); }, 10s, 50ms);
    }
    std::cout << "[ figures  ] resubscribed and ready " << recovery_ms
              << " ms after CLIENT KILL TYPE pubsub\n";
    expect_delivery_works(c, who);
}

TEST(e2e_instance_failure, killing_one_instance_disconnects_only_its_clients) {
    cluster c(true);
    std::vector<std::unique_ptr<ws_client>> clients;
    for (std::size_t i = 0; i < 3; ++i) {
        for (int k = 0; k < 2; ++k) {
            clients.push_back(std::make_unique<ws_client>());
            clients.back()->connect(c.port(i));
        }
    }
    for (int k = 0; k < 6; ++k) {
        clients.push_back(std::make_unique<ws_client>());
        clients.back()->connect(c.lb->port());
    }
    for (auto& client : clients) {
        client->subscribe("news");
    }
    c.wait_numsub("ch:news", 3);

    c.gw(1).send_signal(SIGKILL);
    EXPECT_EQ(c.gw(1).wait_exit(5s), 128 + SIGKILL);

    std::vector<ws_client*> survivors;
    int lost = 0;
    for (auto& client : clients) {
        if (instance_of(client->connection_id()) == "b") {
            ++lost;
            const close_info end = client->read_until_close();
            EXPECT_TRUE(end.frames.empty()) << end.frames.front().dump();
        } else {
            survivors.push_back(client.get());
        }
    }
    EXPECT_GE(lost, 3) << "b should have held its 2 direct clients and some through HAProxy";
    c.wait_numsub("ch:news", 2);  // Redis dropped b's subscriber connection
    EXPECT_EQ(readiness(c.port(0)), "ready");
    EXPECT_EQ(readiness(c.port(2)), "ready");

    std::vector<std::string> ids;
    ids.push_back(c.api(0).publish_ok(channel_event("news", "still", {{"seq", 0}})));
    ids.push_back(c.api(2).publish_ok(channel_event("news", "still", {{"seq", 1}})));
    // Through HAProxy: a request that meets the dead instance is retried on another one.
    ids.push_back(c.lb_api().publish_ok(channel_event("news", "still", {{"seq", 2}})));
    ids.push_back(c.lb_api().publish_ok(channel_event("news", "still", {{"seq", 3}})));
    for (ws_client* client : survivors) {
        SCOPED_TRACE("survivor " + client->connection_id());
        EXPECT_TRUE(client->is_open());
        expect_sequence(*client, ids, "still", "news");
    }

    // New clients through the load balancer land on the living instances.
    std::vector<std::unique_ptr<ws_client>> newcomers;
    for (int k = 0; k < 4; ++k) {
        newcomers.push_back(std::make_unique<ws_client>());
        const json welcome = newcomers.back()->connect(c.lb->port());
        EXPECT_NE(instance_of(welcome["connection"].get<std::string>()), "b");
        survivors.push_back(newcomers.back().get());
    }
    expect_marker_next(c.api(2), survivors);
}

}  // namespace
}  // namespace wsgate::test::e2e
