// The WebSocket layer on the wire (RFC 6455, RFC 7692): what a client sees byte by byte.

#include <wsgate/protocol/permessage_deflate.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "jwt_mint.hpp"
#include "raw_socket.hpp"
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

/// An HTTP request as the test writes it: the request line, then each header line as given
/// (several lines of one header stay several lines).
std::string request_of(const std::string& request_line, const std::vector<std::string>& lines) {
    std::string out = request_line + "\r\n";
    for (const auto& line : lines) out += line + "\r\n";
    return out + "\r\n";
}

/// The header lines of a valid upgrade request to 127.0.0.1:port.
std::vector<std::string> handshake_lines(std::uint16_t port) {
    return {"Host: 127.0.0.1:" + std::to_string(port), "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"};
}

/// `lines` without those of header `name` (compared up to the colon).
std::vector<std::string> without(std::vector<std::string> lines, const std::string& name) {
    lines.erase(std::remove_if(lines.begin(), lines.end(),
                               [&](const std::string& l) { return l.rfind(name + ":", 0) == 0; }),
                lines.end());
    return lines;
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// An answer read off a raw socket: the status, its head, and its JSON body (when it has one).
struct raw_answer {
    unsigned status = 0;
    std::string head;
    json body;

    bool has_line(const std::string& line) const {
        return head.find("\r\n" + line + "\r\n") != std::string::npos;
    }
    std::string error_code() const {
        return body.is_object() ? body["error"].value("code", "") : "";
    }
};

/// Sends `bytes` in one write and reads the answer's head and body (frames after a 101 stay in
/// socket.received()).
raw_answer answer_to(raw_socket& socket, const std::string& bytes) {
    EXPECT_TRUE(socket.send_all(bytes)) << socket.end_description();
    raw_answer a;
    std::optional<unsigned> status;
    socket.receive_until(
        [&] { return (status = take_http_head(socket.received(), &a.head)).has_value(); },
        std::chrono::seconds(5));
    if (!status) throw io_failure("no answer: " + socket.end_description());
    a.status = *status;
    const auto at = a.head.find("\r\nContent-Length: ");
    if (a.status == 101 || at == std::string::npos) return a;
    const std::size_t length = std::stoul(a.head.substr(at + 18));
    socket.receive_until([&] { return socket.received().size() >= length; },
                         std::chrono::seconds(5));
    a.body = json::parse(socket.received().substr(0, length), nullptr, false);
    socket.received().erase(0, std::min(length, socket.received().size()));
    return a;
}

/// The answer to `bytes` on a new connection to `port`.
raw_answer answer_to(std::uint16_t port, const std::string& bytes) {
    raw_socket socket(port);
    return answer_to(socket, bytes);
}

/// The next `count` frames the server sends on `socket`.
std::vector<wire_frame> frames(raw_socket& socket, std::size_t count) {
    std::vector<wire_frame> got;
    socket.receive_until(
        [&] {
            for (auto& f : take_frames(socket.received())) got.push_back(std::move(f));
            return got.size() >= count;
        },
        std::chrono::seconds(5));
    EXPECT_GE(got.size(), count) << socket.end_description();
    return got;
}

std::string type_of(const wire_frame& f) {
    return json::parse(f.payload, nullptr, false).value("type", "");
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

// The opening handshake (RFC 6455 4.2.1, RFC 7230, RFC 7692) as a conformance run probes it.

TEST(ws_handshake_wire, deflate_window_bits_with_a_leading_zero_are_declined) {
    gateway_process gw;
    // RFC 7692 7.1.2.1/7.1.2.2: 1*DIGIT without leading zeros. The offer is declined like any
    // other bad offer: the connection opens, uncompressed.
    for (const std::string offer : {"permessage-deflate; client_max_window_bits=09",
                                    "permessage-deflate; server_max_window_bits=09"}) {
        raw_ws_client client;
        upgrade_and_welcome(client, gw.public_port(), {"Sec-WebSocket-Extensions: " + offer});
        EXPECT_EQ(client.answer().find("Sec-WebSocket-Extensions"), std::string::npos)
            << offer << "\n" << client.answer();
        client.send(raw_ws_client::frame(text_op, R"({"type":"ping","id":1})"));
        EXPECT_EQ(read_text(client), (json{{"type", "pong"}, {"id", 1}})) << offer;
    }
}

TEST(ws_handshake_wire, absolute_form_targets_are_routed_like_origin_form) {
    gateway_process gw({"--auth.insecure_dev_user=true"});
    const auto port = gw.public_port();
    const std::string origin = "http://127.0.0.1:" + std::to_string(port);

    // RFC 7230 5.3.2: a server MUST accept the absolute form; its query counts as well.
    raw_socket ws(port);
    const auto up = answer_to(ws, request_of("GET " + origin + "/ws?user=alice HTTP/1.1",
                                            handshake_lines(port)));
    ASSERT_EQ(up.status, 101u) << up.head;
    const auto welcome = frames(ws, 1);
    ASSERT_FALSE(welcome.empty());
    EXPECT_EQ(json::parse(welcome[0].payload).value("user", ""), "alice") << welcome[0].payload;

    // REST routes too, on a keep-alive connection.
    raw_socket rest(port);
    const std::string host = "Host: 127.0.0.1:" + std::to_string(port);
    auto health = answer_to(rest, request_of("GET " + origin + "/healthz HTTP/1.1", {host}));
    EXPECT_EQ(health.status, 200u) << health.head;
    EXPECT_EQ(health.body.value("status", ""), "ok");
    const std::string event = R"({"channel":"news","event":"e","data":{}})";
    auto published = answer_to(
        rest, request_of("POST " + origin + "/api/v1/publish?x=1 HTTP/1.1",
                         {host, "Content-Type: application/json",
                          "Content-Length: " + std::to_string(event.size())}) +
                  event);
    EXPECT_EQ(published.status, 202u) << published.head << published.body;
    // No path: "/", which is no route; a plain GET on the WebSocket path: 426.
    EXPECT_EQ(answer_to(rest, request_of("GET " + origin + " HTTP/1.1", {host})).status, 404u);
    EXPECT_EQ(answer_to(rest, request_of("GET " + origin + "/ws HTTP/1.1", {host})).status, 426u);
    EXPECT_EQ(answer_to(port, request_of("GET /ws?x=%zz HTTP/1.1", handshake_lines(port))).status,
              400u)
        << "a malformed target";
}

TEST(ws_handshake_wire, connection_and_upgrade_count_every_line_and_every_element) {
    gateway_process gw;
    const auto port = gw.public_port();
    const auto base = without(without(handshake_lines(port), "Connection"), "Upgrade");
    const std::vector<std::vector<std::string>> accepted = {
        // RFC 7230 3.2.2: a list on two lines is one list.
        {"Upgrade: websocket", "Connection: keep-alive", "Connection: Upgrade"},
        // RFC 7230 6.7: protocols with versions, websocket among them, in any case.
        {"Upgrade: foo/1, websocket", "Connection: Upgrade"},
        {"Upgrade: foo/1", "Upgrade: WebSocket", "Connection: keep-alive, upgrade"},
    };
    for (const auto& lines : accepted) {
        raw_socket socket(port);
        const auto a = answer_to(socket, request_of("GET /ws HTTP/1.1", base + lines));
        EXPECT_EQ(a.status, 101u) << lines[0] << "\n" << a.head << a.body;
        const auto welcome = frames(socket, 1);
        ASSERT_FALSE(welcome.empty());
        EXPECT_EQ(type_of(welcome[0]), "welcome");
    }
    // Not websocket: the handshake's 400 when Connection lacks upgrade, 426 when Upgrade does.
    auto a = answer_to(port, request_of("GET /ws HTTP/1.1", base + std::vector<std::string>{
                                                                   "Upgrade: websocket",
                                                                   "Connection: keep-alive"}));
    EXPECT_EQ(a.status, 400u) << a.head;
    EXPECT_EQ(a.error_code(), "bad_handshake");
    a = answer_to(port, request_of("GET /ws HTTP/1.1",
                                  base + std::vector<std::string>{"Upgrade: websocket/13",
                                                                  "Connection: Upgrade"}));
    EXPECT_EQ(a.status, 426u) << a.head;

    // Keep-alive reads every Connection line too: "close" on the second one ends the connection.
    raw_socket rest(port);
    a = answer_to(rest, request_of("GET /healthz HTTP/1.1",
                                  {"Host: x", "Connection: keep-alive", "Connection: close"}));
    EXPECT_EQ(a.status, 200u);
    EXPECT_TRUE(a.has_line("Connection: close")) << a.head;
    EXPECT_TRUE(rest.wait_input_end(std::chrono::seconds(5))) << rest.end_description();
}

TEST(ws_handshake_wire, every_426_names_websocket_and_version_13) {
    gateway_process gw;
    const auto port = gw.public_port();
    // RFC 7231 6.5.15: a 426 MUST send Upgrade (with the connection option, RFC 7230 6.7).
    raw_socket plain(port);
    auto a = answer_to(plain, request_of("GET /ws HTTP/1.1", {"Host: x"}));
    EXPECT_EQ(a.status, 426u);
    EXPECT_EQ(a.error_code(), "upgrade_required");
    EXPECT_TRUE(a.has_line("Upgrade: websocket")) << a.head;
    EXPECT_TRUE(a.has_line("Connection: Upgrade")) << a.head;
    EXPECT_TRUE(a.has_line("Sec-WebSocket-Version: 13")) << a.head;
    EXPECT_EQ(answer_to(plain, request_of("GET /healthz HTTP/1.1", {"Host: x"})).status, 200u)
        << "the connection stays open";

    // RFC 6455 4.2.2/4.4: a version the server does not speak, and the one it does.
    a = answer_to(port, request_of("GET /ws HTTP/1.1", without(handshake_lines(port),
                                                              "Sec-WebSocket-Version") +
                                                          std::vector<std::string>{
                                                              "Sec-WebSocket-Version: 8"}));
    EXPECT_EQ(a.status, 426u);
    EXPECT_EQ(a.error_code(), "unsupported_version");
    EXPECT_TRUE(a.has_line("Upgrade: websocket")) << a.head;
    EXPECT_TRUE(a.has_line("Sec-WebSocket-Version: 13")) << a.head;
    EXPECT_TRUE(a.has_line("Connection: Upgrade, close")) << a.head;

    // HTTP/1.0: its Upgrade is ignored (RFC 7230 6.7), so this is a plain GET.
    a = answer_to(port, request_of("GET /ws HTTP/1.0", handshake_lines(port)));
    EXPECT_EQ(a.status, 426u) << a.head;
    EXPECT_TRUE(a.has_line("Upgrade: websocket")) << a.head;
}

TEST(ws_handshake_wire, malformed_handshakes_are_400_bad_handshake) {
    gateway_process gw;
    http_client api(gw.api_port());
    const auto port = gw.public_port();
    const auto lines = handshake_lines(port);
    const std::string body = "hello";
    const std::vector<std::pair<std::string, std::string>> cases = {
        // RFC 6455 4.2.1 and 11.3.1: exactly one key, even two valid ones.
        {"two keys", request_of("GET /ws HTTP/1.1",
                                lines + std::vector<std::string>{
                                            "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="})},
        // RFC 6455 11.3.5: one Sec-WebSocket-Version.
        {"two versions", request_of("GET /ws HTTP/1.1",
                                    lines + std::vector<std::string>{"Sec-WebSocket-Version: 13"})},
        {"key not 16 bytes",
         request_of("GET /ws HTTP/1.1", without(lines, "Sec-WebSocket-Key") +
                                            std::vector<std::string>{
                                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR=="})},
        {"no key", request_of("GET /ws HTTP/1.1", without(lines, "Sec-WebSocket-Key"))},
        {"no host", request_of("GET /ws HTTP/1.1", without(lines, "Host"))},
        {"two hosts",
         request_of("GET /ws HTTP/1.1", lines + std::vector<std::string>{"Host: other"})},
        {"a body", request_of("GET /ws HTTP/1.1",
                              lines + std::vector<std::string>{"Content-Length: 5"}) +
                       body},
        {"POST", request_of("POST /ws HTTP/1.1", lines + std::vector<std::string>{
                                                             "Content-Length: 0"})},
    };
    for (const auto& [name, request] : cases) {
        const auto a = answer_to(port, request);
        EXPECT_EQ(a.status, 400u) << name << "\n" << a.head;
        EXPECT_EQ(a.error_code(), "bad_handshake") << name << " " << a.body;
        EXPECT_TRUE(a.has_line("Connection: close")) << name;
    }
    EXPECT_EQ(api.wait_metric("wsgate_errors_total{source=\"ws\",code=\"bad_handshake\"}",
                              static_cast<double>(cases.size())),
              static_cast<double>(cases.size()));
    EXPECT_EQ(api.metric("wsgate_connections"), 0);

    // RFC 7230 5.4 for every request: HTTP/1.1 without Host, or with two, is a 400.
    auto a = answer_to(port, request_of("GET /healthz HTTP/1.1", {}));
    EXPECT_EQ(a.status, 400u) << a.head;
    EXPECT_EQ(a.error_code(), "bad_request");
    EXPECT_EQ(answer_to(port, request_of("GET /healthz HTTP/1.1", {"Host: a", "Host: b"})).status,
              400u);
    EXPECT_EQ(answer_to(port, request_of("GET /healthz HTTP/1.0", {})).status, 200u)
        << "HTTP/1.0 needs no Host";
}

TEST(ws_handshake_wire, frames_sent_with_the_upgrade_request_are_not_lost) {
    gateway_process gw;
    const auto port = gw.public_port();
    const std::string ping = client_frame(opcode::text, R"({"type":"ping","id":1})");
    // One write: the request and the client's first frame, so they arrive in one read.
    raw_socket socket(port);
    const auto a = answer_to(socket, upgrade_request(port) + ping);
    ASSERT_EQ(a.status, 101u) << a.head;
    const auto got = frames(socket, 2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(type_of(got[0]), "welcome");
    EXPECT_EQ(json::parse(got[1].payload, nullptr, false), (json{{"type", "pong"}, {"id", 1}}));

    // Half a frame with the request, the rest later; then two whole frames with it.
    raw_socket half(port);
    ASSERT_EQ(answer_to(half, upgrade_request(port) + ping.substr(0, 9)).status, 101u);
    ASSERT_EQ(type_of(frames(half, 1).at(0)), "welcome");
    ASSERT_TRUE(half.send_all(ping.substr(9)));
    const auto pong = frames(half, 1);
    ASSERT_FALSE(pong.empty());
    EXPECT_EQ(type_of(pong[0]), "pong");

    raw_socket two(port);
    const std::string second = client_frame(opcode::text, R"({"type":"ping","id":2})");
    ASSERT_EQ(answer_to(two, upgrade_request(port) + ping + second).status, 101u);
    const auto three = frames(two, 3);
    ASSERT_EQ(three.size(), 3u);
    EXPECT_EQ(json::parse(three[1].payload, nullptr, false).value("id", 0), 1);
    EXPECT_EQ(json::parse(three[2].payload, nullptr, false).value("id", 0), 2);
}

TEST(ws_handshake_wire, early_frames_wait_for_a_users_welcome_or_are_the_auth_that_must_come_first) {
    const std::string ping = client_frame(opcode::text, R"({"type":"ping","id":3})");
    {
        // A user's welcome waits until the bus delivers to the user: the frame waits too.
        gateway_process gw({"--auth.insecure_dev_user=true"});
        raw_socket socket(gw.public_port());
        ASSERT_EQ(answer_to(socket, upgrade_request(gw.public_port(), "/ws?user=bob") + ping).status,
                  101u);
        const auto got = frames(socket, 2);
        ASSERT_EQ(got.size(), 2u);
        EXPECT_EQ(json::parse(got[0].payload, nullptr, false).value("user", ""), "bob");
        EXPECT_EQ(type_of(got[1]), "pong");
    }
    // Without anonymous clients the gateway reads at once: the early frame is the `auth`.
    const std::string secret = "an HS256 secret of at least 32 bytes!";
    gateway_process gw({"--auth.jwt.algorithm=HS256", "--auth.jwt.secret=" + secret,
                        "--auth.anonymous=false"});
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string token = mint_hs256(secret, {{"sub", "carol"}, {"exp", now + 600}});
    const json auth{{"type", "auth"}, {"token", token}, {"id", 1}};
    raw_socket socket(gw.public_port());
    ASSERT_EQ(answer_to(socket, upgrade_request(gw.public_port()) +
                                    client_frame(opcode::text, auth.dump()))
                  .status,
              101u);
    const auto got = frames(socket, 1);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(type_of(got[0]), "welcome") << got[0].payload;
    EXPECT_EQ(json::parse(got[0].payload, nullptr, false).value("user", ""), "carol");
}

}  // namespace
}  // namespace wsgate::test
