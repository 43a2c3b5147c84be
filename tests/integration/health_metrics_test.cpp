// /healthz, /readyz and /metrics.

#include <gtest/gtest.h>

#include <chrono>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "prometheus_text.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

void expect_json_answer(const http_response& res, const json& body) {
    EXPECT_EQ(res.status, 200u) << res.body;
    EXPECT_EQ(res.header("Content-Type").rfind("application/json", 0), 0u)
        << res.header("Content-Type");
    EXPECT_EQ(res.json, body) << res.body;
}

TEST(health, healthz_and_readyz_answer_ok_and_ready) {
    gateway_process gw;
    http_client api(gw.api_port());
    expect_json_answer(api.get("/healthz"), {{"status", "ok"}});
    expect_json_answer(api.get("/readyz"), {{"status", "ready"}});
}

TEST(health, head_is_answered_like_get_without_a_body) {
    gateway_process gw;
    http_client api(gw.api_port());
    for (const char* path : {"/healthz", "/readyz", "/metrics"}) {
        const auto res = api.request("HEAD", path);
        EXPECT_EQ(res.status, 200u) << path;
        EXPECT_TRUE(res.body.empty()) << path;
    }
}

TEST(metrics, are_prometheus_text_with_process_metrics) {
    gateway_process gw;
    const auto res = http_client(gw.api_port()).get("/metrics");
    ASSERT_EQ(res.status, 200u);
    EXPECT_EQ(res.header("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u)
        << res.header("Content-Type");
    EXPECT_GT(find_series(res.body, "process_resident_memory_bytes").value_or(-1), 0);
    EXPECT_GT(find_series(res.body, "process_open_fds").value_or(-1), 0);
    EXPECT_GE(find_series(res.body, "process_cpu_seconds_total").value_or(-1), 0);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_NEAR(find_series(res.body, "process_start_time_seconds").value_or(-1), now, 60);
}

TEST(metrics, connection_gauge_follows_open_clients) {
    gateway_process gw;
    http_client api(gw.api_port());
    EXPECT_EQ(api.metric("wsgate_connections"), 0.0);
    ws_client first, second, third;
    connect_all(gw.public_port(), {&first, &second, &third});
    EXPECT_EQ(api.wait_metric("wsgate_connections", 3), 3);

    second.close();

    EXPECT_EQ(api.wait_metric("wsgate_connections", 2), 2);
    EXPECT_EQ(api.metric("wsgate_connections_accepted_total"), 3.0);
    EXPECT_EQ(api.wait_metric("wsgate_closes_total{reason=\"client\"}", 1), 1);
}

TEST(metrics, event_counters_follow_publishing_and_delivery) {
    gateway_process gw;
    http_client api(gw.api_port());
    ws_client reader_a, reader_b, bystander;
    connect_all(gw.public_port(), {&reader_a, &reader_b, &bystander});
    reader_a.subscribe("news");
    reader_b.subscribe("news");
    reader_b.subscribe("sports");
    EXPECT_EQ(api.metric("wsgate_subscriptions"), 3.0);
    EXPECT_EQ(api.metric("wsgate_channels"), 2.0);

    const std::string id = api.publish_ok(channel_event("news", "counted"));
    expect_event(reader_a.read_json(), id, "counted", "news");
    expect_event(reader_b.read_json(), id, "counted", "news");

    EXPECT_EQ(api.metric("wsgate_events_published_total"), 1.0);
    EXPECT_EQ(api.wait_metric("wsgate_events_received_total", 1), 1);
    EXPECT_EQ(api.wait_metric("wsgate_deliveries_total", 2), 2);
    EXPECT_GT(api.metric("wsgate_frames_sent_total"), 0);
    EXPECT_GT(api.metric("wsgate_bytes_sent_total"), 0);
    EXPECT_GT(api.metric("wsgate_http_requests_total{status=\"202\"}"), 0);
    reader_b.unsubscribe("sports");
    EXPECT_EQ(api.metric("wsgate_channels"), 1.0);
}

}  // namespace
}  // namespace wsgate::test
