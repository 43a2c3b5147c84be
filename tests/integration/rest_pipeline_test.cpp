// Pipelined REST requests (HTTP/1.1, back to back on one connection): answered in order, the
// events they publish delivered together, and a request that ends the connection ends the
// pipeline there.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "http_pipeline.hpp"
#include "raw_socket.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

/// A gateway with one client connected (broadcasts reach it) and an API client.
struct one_listener {
    gateway_process gw;
    http_client api{gw.api_port()};
    ws_client client;

    explicit one_listener(std::vector<std::string> args = {}) : gw(std::move(args)) {
        client.connect(gw.public_port());
    }
};

/// Records a failure unless the gateway ends the pipeline's connection, and took `published`
/// events in all: the client reads none after those before a marker.
void expect_ended(http_pipeline& pipeline, one_listener& rig, int published) {
    EXPECT_TRUE(pipeline.ends()) << pipeline.socket().end_description();
    expect_marker_next(rig.api, {&rig.client});
    EXPECT_EQ(rig.api.metric("wsgate_events_published_total"), published + 1);  // + the marker
}

json numbered(int i) { return broadcast_event("e" + std::to_string(i), i); }

/// Records a failure unless `answers` are `expected` 202s, and the client reads the events they
/// name next, in the same order.
void expect_published_in_order(const std::vector<http_response>& answers, std::size_t expected,
                               ws_client& client) {
    ASSERT_EQ(answers.size(), expected);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        SCOPED_TRACE("request #" + std::to_string(i));
        ASSERT_EQ(answers[i].status, 202u) << answers[i].body;
        const int n = static_cast<int>(i);
        expect_event(client.read_json(), answers[i].json.value("id", ""), "e" + std::to_string(n),
                     std::nullopt, n);
    }
}

TEST(rest_pipeline, publishes_are_answered_in_order_and_leave_in_few_writes) {
    one_listener rig;
    const double writes_before = rig.api.metric("wsgate_writes_total");
    // More than one burst holds (64 requests).
    constexpr int count = 150;
    http_pipeline pipeline(rig.gw.api_port());
    for (int i = 0; i < count; ++i) pipeline.publish(numbered(i));

    pipeline.send();

    expect_published_in_order(pipeline.receive(count), count, rig.client);
    // One request at a time, each event would cost the client one write.
    EXPECT_LT(rig.api.metric("wsgate_writes_total") - writes_before, count / 4);
    EXPECT_EQ(rig.api.metric("wsgate_events_published_total"), count);
}

TEST(rest_pipeline, get_head_and_publish_are_answered_in_order_and_the_connection_stays_open) {
    one_listener rig;
    http_pipeline pipeline(rig.gw.api_port());
    pipeline.add("GET", "/healthz").add("HEAD", "/healthz").publish(numbered(0));
    pipeline.add("GET", "/nope");

    pipeline.send();

    const auto answers = pipeline.receive(4);
    ASSERT_EQ(answers.size(), 4u);
    EXPECT_EQ(answers[0].status, 200u);
    EXPECT_EQ(answers[0].json, (json{{"status", "ok"}})) << answers[0].body;
    EXPECT_EQ(answers[1].status, 200u);
    EXPECT_TRUE(answers[1].body.empty()) << answers[1].body;
    EXPECT_EQ(answers[1].header("Content-Length"), std::to_string(answers[0].body.size()));
    expect_published_in_order({answers[2]}, 1, rig.client);
    expect_rest_error(answers[3], 404, "not_found");

    // Kept alive: a later request on the same connection is answered too.
    pipeline.add("GET", "/healthz").send();
    const auto later = pipeline.receive(1);
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0].status, 200u);
}

TEST(rest_pipeline, malformed_request_is_answered_400_after_those_before_it_and_ends_it) {
    one_listener rig;
    http_pipeline pipeline(rig.gw.api_port());
    pipeline.publish(numbered(0)).publish(numbered(1));
    pipeline.add_raw("this is not HTTP\r\n\r\n").publish(numbered(2));

    pipeline.send();

    const auto answers = pipeline.receive(3);
    ASSERT_EQ(answers.size(), 3u);
    expect_published_in_order({answers[0], answers[1]}, 2, rig.client);
    expect_rest_error(answers[2], 400, "bad_request");
    EXPECT_EQ(answers[2].header("Connection"), "close");
    expect_ended(pipeline, rig, 2);  // the publish after the malformed request is not taken
}

TEST(rest_pipeline, oversized_body_is_answered_413_after_those_before_it_and_ends_it) {
    one_listener rig({"--limits.max_body_bytes", "1024"});
    http_pipeline pipeline(rig.gw.api_port());
    pipeline.publish(numbered(0));
    pipeline.publish(broadcast_event("big", std::string(2000, 'x'))).publish(numbered(1));

    pipeline.send();

    const auto answers = pipeline.receive(2);
    ASSERT_EQ(answers.size(), 2u);
    expect_published_in_order({answers[0]}, 1, rig.client);
    expect_rest_error(answers[1], 413, "payload_too_large");
    expect_ended(pipeline, rig, 1);
}

TEST(rest_pipeline, connection_close_ends_it_after_that_request_is_answered) {
    one_listener rig;
    http_pipeline pipeline(rig.gw.api_port());
    pipeline.publish(numbered(0)).publish(numbered(1), {{"Connection", "close"}});
    pipeline.publish(numbered(2));

    pipeline.send();

    const auto answers = pipeline.receive(3);
    ASSERT_EQ(answers.size(), 2u);
    expect_published_in_order(answers, 2, rig.client);
    EXPECT_EQ(answers[0].header("Connection"), "");  // HTTP/1.1: keep-alive without saying so
    EXPECT_EQ(answers[1].header("Connection"), "close");
    expect_ended(pipeline, rig, 2);
}

TEST(rest_pipeline, upgrade_after_requests_is_taken_once_they_are_answered) {
    one_listener rig;
    http_pipeline pipeline(rig.gw.public_port());
    pipeline.publish(numbered(0)).add_raw(upgrade_request(rig.gw.public_port()));

    pipeline.send();

    const auto answers = pipeline.receive(1);
    expect_published_in_order(answers, 1, rig.client);
    std::optional<unsigned> status;
    auto& socket = pipeline.socket();
    socket.receive_until([&] { return (status = take_http_head(socket.received())).has_value(); },
                         std::chrono::seconds(5));
    ASSERT_EQ(status, 101u) << socket.received();
    std::vector<wire_frame> frames;
    socket.receive_until(
        [&] {
            for (auto& f : take_frames(socket.received())) frames.push_back(std::move(f));
            return !frames.empty();
        },
        std::chrono::seconds(5));
    ASSERT_FALSE(frames.empty()) << socket.end_description();
    EXPECT_EQ(json::parse(frames[0].payload, nullptr, false).value("type", ""), "welcome")
        << frames[0].payload;
}

}  // namespace
}  // namespace wsgate::test
