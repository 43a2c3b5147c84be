// Name resolution runs off the event loop and within the timeouts of what it serves: Redis
// (redis.timeout_ms) and services (timeout_ms). The slow resolver (support/slow_resolver.hpp),
// preloaded into wsgate, makes `d<ms>.slow.test` take <ms> milliseconds to resolve, on
// loopback and without a DNS server.

#include <gtest/gtest.h>

#include <csignal>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "chat_rig.hpp"
#include "child_process.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "polling.hpp"
#include "slow_resolver.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Longer than any test waits: the lookup never ends while the test looks.
constexpr long hang_ms = 5000;

TEST(name_resolution, redis_host_that_never_resolves_blocks_nothing_and_each_attempt_ends_in_time) {
    constexpr int timeout_ms = 300;
    const auto started = clock_type::now();
    gateway_process gw({"--redis.url", "redis://" + slow_host(hang_ms) + ":6379",
                        "--redis.timeout_ms", std::to_string(timeout_ms),
                        "--redis.reconnect_max_ms", "50"},
                       slow_resolver_env());

    // The first attempt fails like a connect timeout, at redis.timeout_ms.
    const bool failed = wait_until(
        [&] { return gw.log_text().find("connection down: connect timeout") != std::string::npos; },
        2s, 5ms);
    const auto first_failure = elapsed_ms(started);
    EXPECT_TRUE(failed) << gw.log_text();
    EXPECT_LE(first_failure, timeout_ms + 400) << "the lookup was not cut at redis.timeout_ms";
    // Meanwhile, and while later attempts wait for the same lookup, the loop answers at once.
    const auto slowest = slowest_healthz_ms(gw.public_port(), 1500ms);
    EXPECT_LT(slowest, 200) << "slowest /healthz: " << slowest << " ms";
    std::cout << "[ measured ] first Redis attempt failed after " << first_failure
              << " ms (redis.timeout_ms " << timeout_ms << "); slowest /healthz "
              << slowest << " ms\n";
    // The backoff goes on: an attempt about every timeout.
    http_client api(gw.api_port());
    EXPECT_GE(api.metric("wsgate_redis_reconnects_total{connection=\"command\"}"), 3);
    EXPECT_EQ(api.get("/readyz").status, 503u);
}

TEST(name_resolution, sigterm_exits_in_time_while_a_lookup_still_hangs) {
    // A lookup cannot be interrupted, and Asio's io_context waits for its resolver thread when
    // it goes away: the exit must not wait for the lookup too.
    gateway_process gw({"--redis.url", "redis://" + slow_host(hang_ms) + ":6379",
                        "--redis.timeout_ms", "300", "--shutdown.drain_ms", "200"},
                       slow_resolver_env());
    ASSERT_TRUE(wait_until(
        [&] { return gw.log_text().find("connection down: connect timeout") != std::string::npos; },
        2s, 5ms));
    const auto signalled = clock_type::now();
    gw.send_signal(SIGTERM);
    EXPECT_EQ(gw.wait_exit(10s), 0) << gw.log_text();
    const auto took = elapsed_ms(signalled);
    std::cout << "[ measured ] exit " << took << " ms after SIGTERM, a lookup of " << hang_ms
              << " ms still running\n";
    EXPECT_LT(took, 1500) << "the exit waited for the lookup";
}

/// A client of a service `chatbot` at `url` (nothing listens behind it) with timeout_ms 300.
struct slow_service {
    explicit slow_service(const std::string& transport, const std::string& url)
        : gw({"--services", json{{"chatbot",
                                  {{"transport", transport},
                                   {"url", url},
                                   {"secret", chat_secret},
                                   {"timeout_ms", timeout_ms}}}}
                                .dump()},
             slow_resolver_env()) {
        client.connect(gw.public_port());
    }
    static constexpr int timeout_ms = 300;
    gateway_process gw;
    ws_client client{10s};
};

void expect_send_times_out_in_time(slow_service& s) {
    for (int id = 1; id <= 2; ++id) {
        const auto start = clock_type::now();
        s.client.send_json(send_frame("hello", id));
        expect_error(s.client.read_json(), id, "timeout");
        const auto took = elapsed_ms(start);
        EXPECT_LE(took, slow_service::timeout_ms + 400) << "send " << id;
        std::cout << "[ measured ] send " << id << " failed with timeout after " << took
                  << " ms (timeout_ms " << slow_service::timeout_ms << ")\n";
    }
    EXPECT_LT(slowest_healthz_ms(s.gw.public_port(), 300ms), 200);
}

TEST(name_resolution, http_service_lookup_is_bounded_by_the_service_timeout) {
    slow_service s("http", "http://" + slow_host(hang_ms) + ":" +
                               std::to_string(free_loopback_port()) + "/chat");
    expect_send_times_out_in_time(s);
}

TEST(name_resolution, websocket_service_lookup_is_bounded_by_the_service_timeout) {
    slow_service s("websocket", "ws://" + slow_host(hang_ms) + ":" +
                                    std::to_string(free_loopback_port()) + "/ws-chat");
    expect_send_times_out_in_time(s);
}

}  // namespace
}  // namespace wsgate::test
