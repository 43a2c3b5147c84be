// The gateway pings quiet clients and drops the ones that do not answer.

#include <boost/asio/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "raw_ws_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> fast_heartbeat{"--heartbeat.interval_ms", "200"};
const std::string heartbeat_closes = "wsgate_closes_total{reason=\"heartbeat\"}";

TEST(heartbeat, welcome_announces_the_interval) {
    gateway_process gw(fast_heartbeat);
    ws_client client;
    EXPECT_EQ(client.connect(gw.public_port())["heartbeat_ms"], 200);
}

TEST(heartbeat, client_that_never_answers_pings_is_disconnected_within_a_second) {
    gateway_process gw(fast_heartbeat);
    http_client api(gw.api_port());
    raw_ws_client silent;
    ASSERT_EQ(silent.upgrade(gw.public_port()), 101u);

    const auto end = silent.read_until_closed();

    EXPECT_TRUE(end.error == boost::asio::error::eof ||
                end.error == boost::asio::error::connection_reset)
        << end.error.message();
    EXPECT_GE(end.elapsed, 350ms) << "closed before twice the interval";
    EXPECT_LE(end.elapsed, 1200ms);
    ASSERT_FALSE(end.opcodes.empty());
    EXPECT_EQ(end.opcodes.front(), 1) << "first frame should be the text welcome";
    EXPECT_GE(std::count(end.opcodes.begin(), end.opcodes.end(), 9), 1) << "never pinged";
    EXPECT_EQ(api.wait_metric(heartbeat_closes, 1), 1);
    EXPECT_EQ(api.wait_metric("wsgate_connections", 0), 0);
}

TEST(heartbeat, client_that_answers_pings_stays_connected) {
    gateway_process gw(fast_heartbeat);
    http_client api(gw.api_port());
    ws_client client;
    client.connect(gw.public_port());

    const auto early = client.poll_json_for(1200ms);  // Beast answers the pings meanwhile

    EXPECT_FALSE(early.has_value()) << early->dump();
    expect_marker_next(api, {&client});
    EXPECT_LE(api.metric(heartbeat_closes), 0.0);
    EXPECT_EQ(api.metric("wsgate_connections"), 1.0);
}

}  // namespace
}  // namespace wsgate::test
