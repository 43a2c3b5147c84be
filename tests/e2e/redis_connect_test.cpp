// How one instance reaches Redis: host names resolved off the event loop and within
// redis.timeout_ms, and IPv6 literals.

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "slow_resolver.hpp"

namespace wsgate::test::e2e {
namespace {

using clock_type = std::chrono::steady_clock;

TEST(e2e_redis_connect, ipv6_literal_url_reaches_redis_on_the_ipv6_loopback) {
    redis_process redis(/*also_ipv6=*/true);
    gateway_process gw({"--redis.url", redis.url_ipv6()});
    EXPECT_TRUE(wait_until([&] { return readiness(gw.public_port()) == "ready"; }, 5s, 20ms))
        << readiness(gw.public_port());
    EXPECT_NE(gw.log_text().find("redis command connection up ([::1]:" +
                                 std::to_string(redis.port()) + ")"),
              std::string::npos)
        << gw.log_text();
}

TEST(e2e_redis_connect, slow_name_is_resolved_off_the_loop_then_connected) {
    // 800 ms per lookup, well within redis.timeout_ms: the attempt succeeds, and the loop (and
    // the start) never waits for it; hiredis gets the numeric address, so it never resolves.
    redis_process redis;
    const auto started = clock_type::now();
    gateway_process gw({"--redis.url", "redis://" + slow_host(800) + ":" +
                                           std::to_string(redis.port()),
                        "--redis.timeout_ms", "3000"},
                       slow_resolver_env());
    const auto start_ms = elapsed_ms(started);
    const auto slowest = slowest_healthz_ms(gw.public_port(), 500ms);
    EXPECT_TRUE(wait_until([&] { return readiness(gw.public_port()) == "ready"; }, 5s, 20ms))
        << readiness(gw.public_port());
    std::cout << "[ measured ] listening after " << start_ms << " ms, slowest /healthz while "
              << "resolving " << slowest << " ms, ready after " << elapsed_ms(started) << " ms\n";
    EXPECT_LT(start_ms, 700) << "the start waited for the lookup";
    EXPECT_LT(slowest, 200) << "the loop waited for the lookup";
}

}  // namespace
}  // namespace wsgate::test::e2e
