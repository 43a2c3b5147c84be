// SIGTERM / SIGINT: drain, close every client with 1001, exit 0.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <signal.h>
#include <string>
#include <vector>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

const std::string reason_prefix = "shutdown; reconnect_after_ms=";

TEST(shutdown, sigterm_delivers_queued_events_then_closes_clients_with_1001_and_exits_0) {
    constexpr int client_count = 3;
    constexpr int event_count = 20;
    gateway_process gw({"--shutdown.drain_ms", "2000", "--shutdown.reconnect_max_ms", "3000"});
    http_client api(gw.api_port());
    const auto clients = connect_clients(gw.public_port(), client_count, "news");
    std::vector<std::string> ids;
    for (int seq = 0; seq < event_count; ++seq) {
        ids.push_back(api.publish_ok(channel_event("news", "last-words", seq)));
    }

    const auto signalled = std::chrono::steady_clock::now();
    gw.send_signal(SIGTERM);

    for (int c = 0; c < client_count; ++c) {
        SCOPED_TRACE("client " + std::to_string(c));
        const auto end = clients[c]->read_until_close();
        EXPECT_TRUE(end.close_frame) << end.error.message();
        EXPECT_EQ(end.code, 1001);
        ASSERT_EQ(end.reason.rfind(reason_prefix, 0), 0u) << end.reason;
        const int delay = std::stoi(end.reason.substr(reason_prefix.size()));
        EXPECT_GE(delay, 0);
        EXPECT_LE(delay, 3000);
        ASSERT_EQ(end.frames.size(), static_cast<std::size_t>(event_count));
        for (int seq = 0; seq < event_count; ++seq) {
            expect_event(end.frames[seq], ids[seq], "last-words", "news", seq);
        }
    }
    EXPECT_EQ(gw.wait_exit(4s), 0);
    EXPECT_LE(std::chrono::steady_clock::now() - signalled, 4s);
}

TEST(shutdown, sigint_without_clients_exits_0_promptly) {
    gateway_process gw;
    gw.send_signal(SIGINT);
    EXPECT_EQ(gw.wait_exit(1s), 0);
}

}  // namespace
}  // namespace wsgate::test
