// JSON input, end to end: nesting beyond limits.json_max_depth is refused without harm, and
// `data` (and request ids) reach clients exactly as they were written.

#include <gtest/gtest.h>

#include <string>

#include "canned_http_server.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "prometheus_text.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

std::string nested_array(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

// The body that ended the process with a stack overflow on a5d4eca: about 400 KB, under the
// default body limit, on the default configuration (no API key).
std::string deep_publish(std::size_t depth = 200000) {
    return R"({"channel":"news","event":"e","data":)" + nested_array(depth) + "}";
}

double metric(const gateway_process& gw, const std::string& series) {
    return find_series(http_client(gw.api_port()).get("/metrics").body, series).value_or(0);
}

// `frame` ends with `,"data":<data>}`: the bytes the publisher wrote.
void expect_data_verbatim(const std::string& frame, const std::string& data) {
    const std::string tail = ",\"data\":" + data + "}";
    ASSERT_GE(frame.size(), tail.size()) << frame;
    EXPECT_EQ(frame.substr(frame.size() - tail.size()), tail) << frame;
}

// An error frame with `code` whose message names the depth limit.
void expect_error_naming_the_limit(const json& frame, const std::string& code) {
    EXPECT_EQ(frame["type"], "error");
    EXPECT_EQ(frame["code"], code);
    EXPECT_NE(frame.value("message", "").find("limits.json_max_depth"), std::string::npos)
        << frame.dump();
}

// A gateway whose http service `bot` is `service`, and a client that sent it a message.
struct service_rig {
    explicit service_rig(const canned_http_server& service)
        : gw({"--services", R"({"bot":{"transport":"http","url":"http://127.0.0.1:)" +
                                std::to_string(service.port()) +
                                R"(/chat","secret":"0123456789abcdef0123"}})"}) {
        client.connect(gw.public_port());
        client.send_text(R"({"type":"send","service":"bot","id":7,"data":{}})");
    }
    gateway_process gw;
    ws_client client;
};

const std::string odd_data =
    R"({"zebra":1,  "apple":[2.50, 1E+2, -0.0, 123456789012345678901234567890, 1e400],)"
    R"( "s":"caf\u00e9 \ud83d\ude00", "nested":{"b":{},"a":[]}})";

}  // namespace

TEST(json_input, a_publish_nested_200000_deep_is_refused_and_the_gateway_keeps_serving) {
    gateway_process gw;
    http_client api(gw.api_port());
    ws_client reader;
    reader.connect(gw.public_port());
    reader.subscribe("news");

    const auto r = api.post_json("/api/v1/publish", deep_publish());
    EXPECT_EQ(r.status, 400u) << r.body.substr(0, 300);
    EXPECT_EQ(r.error_code(), "invalid_json");
    EXPECT_NE(r.body.find("limits.json_max_depth"), std::string::npos) << r.body;
    // Batches too.
    const auto b = api.post_json("/api/v1/publish/batch", "[" + deep_publish() + "]");
    EXPECT_EQ(b.status, 400u);
    EXPECT_EQ(b.error_code(), "invalid_json");

    ASSERT_TRUE(gw.running());
    EXPECT_EQ(api.get("/healthz").status, 200u);
    EXPECT_EQ(metric(gw, R"(wsgate_json_too_deep_total{source="rest"})"), 2);
    // At the limit it is accepted, and the subscriber (there all along) gets it.
    api.publish_ok(json::parse(deep_publish(64)));
    const auto event = reader.read_json();
    EXPECT_EQ(event["type"], "event");
    EXPECT_EQ(event["data"].dump(), nested_array(64));
}

TEST(json_input, a_client_message_nested_too_deep_gets_an_error_frame_and_the_connection_stays) {
    gateway_process gw({"--limits.max_message_bytes", "1048576",
                        R"(--channels=[{"pattern":"*","subscribe":"anyone","publish":"anyone"}])"});
    ws_client client;
    client.connect(gw.public_port());
    client.send_text(R"({"type":"publish","channel":"c","event":"e","id":1,"data":)" +
                     nested_array(200000) + "}");
    expect_error_naming_the_limit(client.read_json(), "invalid_json");
    EXPECT_TRUE(client.ping());
    ASSERT_TRUE(gw.running());
    EXPECT_EQ(metric(gw, R"(wsgate_json_too_deep_total{source="ws"})"), 1);
    EXPECT_EQ(metric(gw, R"(wsgate_errors_total{source="ws",code="invalid_json"})"), 1);
}

TEST(json_input, the_limit_is_configurable) {
    gateway_process gw({"--limits.json_max_depth", "3"});
    http_client api(gw.api_port());
    const auto publish = [](int depth) {
        return R"({"channel":"news","event":"e","data":)" + nested_array(depth) + "}";
    };
    EXPECT_EQ(api.post_json("/api/v1/publish", publish(3)).status, 202u);
    const auto r = api.post_json("/api/v1/publish", publish(4));
    EXPECT_EQ(r.status, 400u);
    EXPECT_NE(r.body.find("at most 3 levels"), std::string::npos) << r.body;
}

TEST(json_input, data_reaches_every_client_exactly_as_the_publisher_wrote_it) {
    gateway_process gw({R"(--channels=[{"pattern":"*","subscribe":"anyone","publish":"anyone"}])"});
    http_client api(gw.api_port());
    ws_client reader, writer;
    reader.connect(gw.public_port());
    reader.subscribe("news");
    writer.connect(gw.public_port());

    EXPECT_EQ(api.post_json("/api/v1/publish",
                            R"({"channel":"news","event":"e","data": )" + odd_data + " }")
                  .status,
              202u);
    expect_data_verbatim(reader.read_text(), odd_data);

    EXPECT_EQ(api.post_json("/api/v1/publish/batch",
                            R"([{"channel":"news","event":"e","data":)" + odd_data + "}]")
                  .status,
              202u);
    expect_data_verbatim(reader.read_text(), odd_data);

    writer.send_text(R"({"type":"publish","channel":"news","event":"e","id":1,"data":)" +
                     odd_data + "}");
    EXPECT_EQ(writer.read_json()["type"], "ack");
    expect_data_verbatim(reader.read_text(), odd_data);
}

TEST(json_input, request_ids_come_back_as_sent_and_count_characters) {
    gateway_process gw;
    ws_client client;
    client.connect(gw.public_port());
    client.send_text(R"({"type":"ping","id":1.50})");
    EXPECT_EQ(client.read_text(), R"({"type":"pong","id":1.50})");

    std::string e64;  // 64 characters, 128 bytes
    for (int i = 0; i < 64; ++i) e64 += "\xc3\xa9";
    client.send_text(R"({"type":"ping","id":")" + e64 + "\"}");
    EXPECT_EQ(client.read_json()["type"], "pong");
    client.send_text(R"({"type":"ping","id":")" + e64 + "\xc3\xa9\"}");
    const auto refused = client.read_json();
    EXPECT_EQ(refused["type"], "error");
    EXPECT_EQ(refused["code"], "invalid_field");
}

TEST(json_input, a_service_reply_reaches_the_client_exactly_as_the_service_wrote_it) {
    canned_http_server service(200, " " + odd_data + "\n");
    service_rig rig(service);
    EXPECT_EQ(rig.client.read_json()["type"], "ack");
    const std::string reply = rig.client.read_text();
    EXPECT_EQ(reply, R"({"type":"reply","id":7,"service":"bot","data":)" + odd_data + "}");
}

TEST(json_input, a_service_reply_nested_too_deep_is_refused_and_counted) {
    canned_http_server service(200, nested_array(100000));
    service_rig rig(service);
    expect_error_naming_the_limit(rig.client.read_json(), "service_unavailable");
    ASSERT_TRUE(rig.gw.running());
    EXPECT_EQ(metric(rig.gw, R"(wsgate_json_too_deep_total{source="service"})"), 1);
}

}  // namespace wsgate::test
