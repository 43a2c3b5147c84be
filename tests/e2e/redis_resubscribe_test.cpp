// The cost of subscribing again to many channels after the subscriber connection was lost:
// linear in the channels, and not mistaken for a Redis that stopped answering.

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cluster.hpp"

namespace wsgate::test::e2e {
namespace {

using clock_type = std::chrono::steady_clock;

TEST(e2e_redis_resubscribe, resubscribing_100000_channels_after_a_lost_subscriber_takes_seconds) {
    // 200 clients with 500 channels each: 100,000 Redis channels for the instance (the hub's
    // own cost grows with the channels of one connection, so they are spread). The bus asks
    // whether all are in force after each confirmation: that must cost O(1), not O(channels).
    constexpr int clients = 200;
    constexpr int per_client = 500;
    constexpr int channels = clients * per_client;
    redis_process redis;
    // redis.timeout_ms shorter than subscribing to all of them takes (about 2 s): that must not
    // count as a Redis that stopped answering while the confirmations keep coming. Not shorter
    // than 1 s: on a loaded machine a starved Redis is silent for 250 ms before its first one.
    gateway_process gw({"--redis.url", redis.url(), "--redis.timeout_ms", "1000",
                        "--limits.max_subscriptions", std::to_string(per_client),
                        "--limits.message_rate", "1000000", "--limits.message_burst", "1000000"});
    const auto subscribing = clock_type::now();
    std::vector<std::unique_ptr<ws_client>> subscribers;
    for (int c = 0; c < clients; ++c) {
        subscribers.push_back(std::make_unique<ws_client>(60s));
        auto& client = *subscribers.back();
        client.connect(gw.public_port());
        for (int i = 0; i < per_client; ++i)
            client.send_json({{"type", "subscribe"},
                              {"channel", "c" + std::to_string(c * per_client + i)}});
    }
    for (auto& client : subscribers)
        for (int i = 0; i < per_client; ++i)
            ASSERT_EQ(client->read_json().value("type", ""), "ack");
    ASSERT_TRUE(wait_until([&] { return readiness(gw.public_port()) == "ready"; }, 60s, 50ms))
        << readiness(gw.public_port());
    std::cout << "[ measured ] " << channels << " channels subscribed and acknowledged, ready after "
              << elapsed_ms(subscribing) << " ms\n";
    ASSERT_EQ(redis.numsub("wsgate:ch:c99999"), 1);

    const std::string reconnects = "wsgate_redis_reconnects_total{connection=\"subscriber\"}";
    const double reconnects_before = http_client(gw.api_port()).metric(reconnects);
    const auto lost = clock_type::now();
    redis.command({"CLIENT", "KILL", "TYPE", "pubsub"});
    ASSERT_TRUE(wait_until([&] { return readiness(gw.public_port()) != "ready"; }, 5s, 5ms));
    const bool back = wait_until([&] { return readiness(gw.public_port()) == "ready"; }, 60s, 20ms);
    const auto took = elapsed_ms(lost);
    std::cout << "[ measured ] " << channels << " channels subscribed again, ready after " << took
              << " ms\n";
    EXPECT_TRUE(back) << "not ready 60 s after the subscriber connection was killed";
    EXPECT_LT(took, 20000);
    EXPECT_EQ(redis.numsub("wsgate:ch:c99999"), 1);
    EXPECT_EQ(http_client(gw.api_port()).metric(reconnects) - reconnects_before, 1)
        << "subscribing again was cut short and retried";
    EXPECT_TRUE(subscribers.front()->ping());
}

}  // namespace
}  // namespace wsgate::test::e2e
