// The WebSocket layer on the wire (RFC 6455, RFC 7692): what a client sees byte by byte.

#include <wsgate/protocol/permessage_deflate.hpp>

#include <gtest/gtest.h>

#include <string>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "raw_ws_client.hpp"
#include "test_io.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

constexpr int text_op = 1, close_op = 8, ping_op = 9, pong_op = 10, continuation_op = 0;

std::string closes(const std::string& reason) {
    return "wsgate_closes_total{reason=\"" + reason + "\"}";
}

std::uint16_t close_code_of(const raw_frame& f) {
    if (f.payload.size() < 2) return 0;
    return static_cast<std::uint16_t>((static_cast<unsigned char>(f.payload[0]) << 8) |
                                      static_cast<unsigned char>(f.payload[1]));
}

/// A raw client past its welcome frame.
void upgrade_and_welcome(raw_ws_client& client, std::uint16_t port,
                         const std::vector<std::string>& headers = {}) {
    ASSERT_EQ(client.upgrade(port, "/ws", headers), 101u) << client.answer();
    const auto welcome = client.read_frame();
    ASSERT_EQ(welcome.opcode, text_op);
    EXPECT_EQ(json::parse(welcome.payload).value("type", ""), "welcome");
}

json read_text(raw_ws_client& client) {
    const auto f = client.read_frame();
    EXPECT_EQ(f.opcode, text_op);
    EXPECT_FALSE(f.rsv1);
    return json::parse(f.payload, nullptr, false);
}

TEST(ws_protocol, upgrade_is_answered_with_the_accept_key_of_rfc_6455) {
    gateway_process gw;
    raw_ws_client client;
    upgrade_and_welcome(client, gw.public_port());
    EXPECT_NE(client.answer().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
              std::string::npos)
        << client.answer();
    EXPECT_EQ(client.answer().find("Sec-WebSocket-Extensions"), std::string::npos)
        << "no extension unless offered";
}

TEST(ws_protocol, pings_between_fragments_are_answered_and_the_fragments_joined) {
    gateway_process gw;
    raw_ws_client client;
    upgrade_and_welcome(client, gw.public_port());

    client.send(raw_ws_client::frame(text_op, R"({"type":"pi)", false) +
                raw_ws_client::frame(ping_op, "are you there") +
                raw_ws_client::frame(continuation_op, R"(ng","id":9})"));

    const auto pong = client.read_frame();
    EXPECT_EQ(pong.opcode, pong_op);
    EXPECT_EQ(pong.payload, "are you there");
    EXPECT_EQ(read_text(client), (json{{"type", "pong"}, {"id", 9}}));
}

TEST(ws_protocol, a_request_sent_one_byte_at_a_time_is_understood) {
    gateway_process gw;
    raw_ws_client client;
    upgrade_and_welcome(client, gw.public_port());
    const std::string bytes =
        raw_ws_client::frame(text_op, R"({"type":"subscribe","channel":"drip","id":"d"})");
    for (char c : bytes) client.send(std::string(1, c));
    EXPECT_EQ(read_text(client), (json{{"type", "ack"}, {"id", "d"}}));
}

TEST(ws_protocol, client_close_is_answered_with_its_code_and_counted) {
    gateway_process gw;
    http_client api(gw.api_port());
    raw_ws_client client;
    upgrade_and_welcome(client, gw.public_port());

    client.send(raw_ws_client::frame(close_op, std::string("\x0f\xa0", 2) + "done"));

    const auto reply = client.read_frame();
    EXPECT_EQ(reply.opcode, close_op);
    EXPECT_EQ(close_code_of(reply), 4000);
    EXPECT_THROW(client.read_frame(), io_failure) << "the server ends the TCP connection";
    EXPECT_EQ(api.wait_metric(closes("client"), 1), 1);
    EXPECT_EQ(api.wait_metric("wsgate_connections", 0), 0);
}

TEST(ws_protocol, unmasked_frame_is_a_protocol_error_closed_with_1002) {
    gateway_process gw;
    http_client api(gw.api_port());
    raw_ws_client client;
    upgrade_and_welcome(client, gw.public_port());

    client.send(std::string("\x81\x02{}", 4));

    const auto reply = client.read_frame();
    EXPECT_EQ(reply.opcode, close_op);
    EXPECT_EQ(close_code_of(reply), 1002);
    EXPECT_EQ(api.wait_metric(closes("error"), 1), 1);
    EXPECT_EQ(api.wait_metric("wsgate_connections", 0), 0);
}

TEST(ws_protocol, permessage_deflate_compresses_large_frames_and_leaves_small_ones_plain) {
    gateway_process gw;
    http_client api(gw.api_port());
    raw_ws_client client;
    upgrade_and_welcome(client, gw.public_port(),
                        {"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"});
    EXPECT_NE(client.answer().find("Sec-WebSocket-Extensions: permessage-deflate; "
                                   "server_no_context_takeover; client_no_context_takeover\r\n"),
              std::string::npos)
        << client.answer();
    client.send(raw_ws_client::frame(text_op, R"({"type":"subscribe","channel":"z","id":1})"));
    EXPECT_EQ(read_text(client), (json{{"type", "ack"}, {"id", 1}})) << "small: sent plain";

    const json data{{"text", std::string(4000, 'z')}};
    const std::string id = api.publish_ok(channel_event("z", "big", data));

    const auto f = client.read_frame();
    EXPECT_EQ(f.opcode, text_op);
    EXPECT_TRUE(f.rsv1) << "compressed";
    EXPECT_LT(f.payload.size(), 1000u);
    std::string inflated;
    ASSERT_EQ(inflate_message(f.payload, 1 << 20, inflated), inflate_result::ok);
    expect_event(json::parse(inflated), id, "big", "z", data);
}

TEST(ws_protocol, beast_client_with_permessage_deflate_talks_compressed_both_ways) {
    gateway_process gw({"--limits.max_message_bytes", "4096"});
    http_client api(gw.api_port());
    ws_client deflating, plain;
    deflating.offer_permessage_deflate();
    deflating.connect(gw.public_port());
    EXPECT_NE(deflating.extensions().find("permessage-deflate"), std::string::npos);
    plain.connect(gw.public_port());
    EXPECT_EQ(plain.extensions(), "");
    // Beast compresses what it sends once deflate is on: the gateway inflates it.
    deflating.subscribe("news");
    plain.subscribe("news");
    EXPECT_TRUE(deflating.ping());

    const double bytes_before = api.metric("wsgate_bytes_sent_total");
    const json data{{"body", std::string(3000, 'n')}};
    const std::string id = api.publish_ok(channel_event("news", "long", data));
    expect_event(deflating.read_json(), id, "long", "news", data);
    expect_event(plain.read_json(), id, "long", "news", data);
    // One plain copy (~3 KB) and one compressed one (tens of bytes).
    const double sent = api.metric("wsgate_bytes_sent_total") - bytes_before;
    EXPECT_GT(sent, 3000);
    EXPECT_LT(sent, 3400);

    // Within the limit compressed, beyond it once inflated: 1009.
    deflating.send_json({{"type", "ping"}, {"pad", std::string(5000, 'p')}});
    const auto end = deflating.read_until_close();
    EXPECT_TRUE(end.close_frame);
    EXPECT_EQ(end.code, 1009);
    EXPECT_EQ(api.wait_metric(closes("too_big"), 1), 1);
    EXPECT_TRUE(plain.ping());
}

TEST(ws_protocol, permessage_deflate_is_refused_when_configured_off_and_obeys_the_minimum) {
    gateway_process off({"--websocket.permessage_deflate=false"});
    ws_client offering;
    offering.offer_permessage_deflate();
    offering.connect(off.public_port());
    EXPECT_EQ(offering.extensions(), "") << "not negotiated";

    // A minimum above the event's size: negotiated, but the event goes plain.
    gateway_process high_min({"--websocket.deflate_min_bytes=100000"});
    http_client api(high_min.api_port());
    raw_ws_client client;
    upgrade_and_welcome(client, high_min.public_port(),
                        {"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"});
    EXPECT_NE(client.answer().find("permessage-deflate"), std::string::npos) << client.answer();
    client.send(raw_ws_client::frame(text_op, R"({"type":"subscribe","channel":"z","id":1})"));
    EXPECT_EQ(read_text(client), (json{{"type", "ack"}, {"id", 1}}));
    const json data{{"text", std::string(4000, 'z')}};
    const std::string id = api.publish_ok(channel_event("z", "big", data));
    const auto f = client.read_frame();
    EXPECT_FALSE(f.rsv1) << "below websocket.deflate_min_bytes: plain";
    expect_event(json::parse(f.payload), id, "big", "z", data);
}

}  // namespace
}  // namespace wsgate::test
