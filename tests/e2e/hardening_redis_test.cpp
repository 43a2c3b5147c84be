// Hardening through a real Redis: data crosses instances byte for byte, an envelope nested too
// deeply is dropped and counted, and a client whose welcome the bus cannot confirm is told to
// come back instead of waiting forever.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cluster.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "prometheus_text.hpp"
#include "redis_process.hpp"
#include "ws_client.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;

const std::string odd_data =
    R"({"zebra":1,  "apple":[2.50, 1E+2, -0.0, 123456789012345678901234567890, 1e400],)"
    R"( "s":"caf\u00e9", "nested":{"b":{},"a":[]}})";

}  // namespace

TEST(e2e_hardening, data_crosses_instances_exactly_as_the_publisher_wrote_it) {
    cluster c;
    ws_client reader;
    reader.connect(c.port(1));
    reader.subscribe("news");
    // Published on instance a, delivered by instance b: through an envelope in Redis.
    const auto r = c.api(0).post_json("/api/v1/publish",
                                      R"({"channel":"news","event":"e","data": )" + odd_data + "}");
    ASSERT_EQ(r.status, 202u) << r.body;
    const std::string frame = reader.read_text();
    const std::string tail = ",\"data\":" + odd_data + "}";
    ASSERT_GE(frame.size(), tail.size());
    EXPECT_EQ(frame.substr(frame.size() - tail.size()), tail) << frame;
}

TEST(e2e_hardening, an_envelope_nested_too_deep_is_dropped_and_counted) {
    cluster c;
    ws_client reader;
    reader.connect(c.port(0));
    reader.subscribe("news");
    // Written straight to Redis, as a broken or hostile peer could (60,000 levels: one argument
    // to redis-cli may not pass 128 KiB).
    const std::string deep = std::string(60000, '[') + std::string(60000, ']');
    const std::string envelope = R"({"v":1,"id":"x:1","origin":"x","kind":"channel",)"
                                 R"("target":"news","event":"e","ts":1,"data":)" +
                                 deep + "}";
    c.redis.command({"PUBLISH", redis_prefix + "ch:news", envelope});
    EXPECT_EQ(c.api(0).wait_metric(R"(wsgate_json_too_deep_total{source="redis"})", 1), 1);
    EXPECT_EQ(c.api(0).wait_metric("wsgate_redis_bad_messages_total", 1), 1);
    EXPECT_TRUE(c.gw(0).running());
    // Delivery goes on.
    const auto id = c.api(1).publish_ok(json{{"channel", "news"}, {"event", "after"}});
    EXPECT_EQ(reader.read_json()["id"], id);
}

// a5d4eca: a client with a user waited for its welcome until the bus confirmed the user's
// topic, without a deadline: with Redis frozen, for ever.
TEST(e2e_hardening, a_welcome_the_bus_cannot_confirm_ends_with_1013_after_the_deadline) {
    redis_process redis;
    gateway_process gw({"--redis.url", redis.url(), "--auth.insecure_dev_user", "true",
                        "--redis.timeout_ms", "60000"});
    ASSERT_TRUE(wait_until([&] { return readiness(gw.api_port()) == "ready"; }, 10s, 20ms));
    redis.pause();
    const auto start = std::chrono::steady_clock::now();
    ws_client client(std::chrono::seconds(15));
    const auto handshake = client.try_connect(gw.public_port(), "/ws?user=frozen");
    ASSERT_TRUE(handshake.upgraded);
    const auto end = client.read_until_close();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    redis.resume();
    EXPECT_TRUE(end.close_frame) << end.error.message();
    EXPECT_EQ(end.code, 1013);
    EXPECT_EQ(end.reason.rfind("try again later", 0), 0u) << end.reason;
    EXPECT_TRUE(end.frames.empty()) << "no welcome was promised";
    EXPECT_GE(took.count(), 4500);   // timeouts.welcome_ms, 5 s by default
    EXPECT_LT(took.count(), 10000);
    EXPECT_EQ(http_client(gw.api_port()).wait_metric(R"(wsgate_closes_total{reason="not_confirmed"})",
                                                     1),
              1);
}

}  // namespace wsgate::test::e2e
