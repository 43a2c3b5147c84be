#include <wsgate/protocol/frame.hpp>
#include <wsgate/session/ws_handshake.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace wsgate;
namespace http = boost::beast::http;

namespace {

http::request<http::string_body> upgrade_request() {
    http::request<http::string_body> req{http::verb::get, "/ws", 11};
    req.set(http::field::host, "127.0.0.1:8080");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "keep-alive, Upgrade");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    return req;
}

bool has_line(const std::string& response, const std::string& line) {
    return response.find("\r\n" + line + "\r\n") != std::string::npos;
}

}  // namespace

TEST(ws_handshake, accept_key_is_the_rfc_6455_example) {
    EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ws_handshake, valid_upgrade_is_answered_101_without_extensions_unless_offered) {
    const auto r = accept_ws_handshake(upgrade_request(), {});
    ASSERT_TRUE(r.accepted) << r.error;
    EXPECT_EQ(r.response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << r.response;
    EXPECT_TRUE(has_line(r.response, "Upgrade: websocket"));
    EXPECT_TRUE(has_line(r.response, "Connection: Upgrade"));
    EXPECT_TRUE(has_line(r.response, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    EXPECT_EQ(r.response.find("Sec-WebSocket-Extensions"), std::string::npos);
    EXPECT_EQ(r.response.substr(r.response.size() - 4), "\r\n\r\n");
    EXPECT_FALSE(r.deflate);
}

TEST(ws_handshake, bad_requests_are_refused_with_400_or_426) {
    struct bad_case {
        const char* name;
        http::field field;
        const char* value;
        int status;
    };
    const bad_case cases[] = {
        {"no host", http::field::host, "", 400},
        {"no upgrade token", http::field::upgrade, "h2c", 400},
        {"no connection token", http::field::connection, "keep-alive", 400},
        {"no key", http::field::sec_websocket_key, "", 400},
        {"short key", http::field::sec_websocket_key, "dGhlIHNhbXBsZQ==", 400},
        {"key not base64", http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZ!==", 400},
        {"old version", http::field::sec_websocket_version, "8", 426},
        {"no version", http::field::sec_websocket_version, "", 426},
    };
    for (const auto& c : cases) {
        auto req = upgrade_request();
        if (*c.value == '\0')
            req.erase(c.field);
        else
            req.set(c.field, c.value);
        const auto r = accept_ws_handshake(req, {});
        EXPECT_FALSE(r.accepted) << c.name;
        EXPECT_EQ(r.response.rfind("HTTP/1.1 " + std::to_string(c.status), 0), 0u) << c.name;
        EXPECT_TRUE(has_line(r.response, "Connection: close")) << c.name;
        EXPECT_NE(r.response.find("\"error\""), std::string::npos) << c.name;
    }
    auto old = upgrade_request();
    old.set(http::field::sec_websocket_version, "8");
    EXPECT_TRUE(has_line(accept_ws_handshake(old, {}).response, "Sec-WebSocket-Version: 13"));
    auto post = upgrade_request();
    post.method(http::verb::post);
    EXPECT_FALSE(accept_ws_handshake(post, {}).accepted);
}

TEST(ws_handshake, permessage_deflate_offer_is_accepted_without_context_takeover) {
    auto req = upgrade_request();
    req.set(http::field::sec_websocket_extensions,
            "permessage-deflate; client_max_window_bits");  // what browsers send
    const auto r = accept_ws_handshake(req, {});
    ASSERT_TRUE(r.accepted);
    ASSERT_TRUE(r.deflate);
    EXPECT_EQ(r.deflate->server_window_bits, 15);
    EXPECT_TRUE(has_line(r.response,
                         "Sec-WebSocket-Extensions: permessage-deflate; "
                         "server_no_context_takeover; client_no_context_takeover"));
    EXPECT_FALSE(accept_ws_handshake(req, {false}).deflate) << "disabled by the options";
}

TEST(ws_handshake, extensions_in_several_header_fields_count_as_one_list) {
    auto req = upgrade_request();
    req.insert(http::field::sec_websocket_extensions, "x-webkit-deflate-frame");
    req.insert(http::field::sec_websocket_extensions, "permessage-deflate; server_max_window_bits=10");
    const auto r = accept_ws_handshake(req, {});
    ASSERT_TRUE(r.deflate);
    EXPECT_EQ(r.deflate->server_window_bits, 10);
    EXPECT_NE(r.response.find("; server_max_window_bits=10\r\n"), std::string::npos);
}

TEST(permessage_deflate, offers_are_taken_in_order_and_odd_ones_declined) {
    EXPECT_FALSE(negotiate_permessage_deflate(""));
    EXPECT_FALSE(negotiate_permessage_deflate("x-webkit-deflate-frame"));
    EXPECT_FALSE(negotiate_permessage_deflate("permessage-deflate; unknown_param"));
    EXPECT_FALSE(negotiate_permessage_deflate("permessage-deflate; server_max_window_bits"));
    EXPECT_FALSE(negotiate_permessage_deflate("permessage-deflate; server_max_window_bits=16"));
    EXPECT_FALSE(negotiate_permessage_deflate(
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover"));
    EXPECT_FALSE(negotiate_permessage_deflate("permessage-deflate; client_no_context_takeover=1"));
    // zlib cannot keep to an 8-bit window: the next offer is taken.
    auto p = negotiate_permessage_deflate(
        "permessage-deflate; server_max_window_bits=8, permessage-deflate; "
        "server_max_window_bits=\"12\"; client_max_window_bits=9");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server_window_bits, 12);
    p = negotiate_permessage_deflate(
        "PerMessage-Deflate ; server_no_context_takeover ; client_no_context_takeover");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server_window_bits, 15);
    // A bare offer, as Firefox sends it: accepted with the full window.
    p = negotiate_permessage_deflate("permessage-deflate");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server_window_bits, 15);
}

TEST(ws_handshake, a_bare_deflate_offer_is_answered_without_context_takeover_either_way) {
    auto req = upgrade_request();
    req.set(http::field::sec_websocket_extensions, "permessage-deflate");
    const auto r = accept_ws_handshake(req, {});
    ASSERT_TRUE(r.deflate);
    // RFC 7692 7.1.1.2: the server may ask for client_no_context_takeover unoffered.
    EXPECT_NE(r.response.find("Sec-WebSocket-Extensions: permessage-deflate; "
                              "server_no_context_takeover; client_no_context_takeover\r\n"),
              std::string::npos)
        << r.response;
}

TEST(permessage_deflate, messages_survive_the_round_trip_and_limits_hold) {
    const std::string message = R"({"type":"event","data":")" + std::string(3000, 'q') + "\"}";
    for (int bits : {9, 12, 15}) {
        std::string compressed, inflated;
        deflate_message(message, bits, compressed);
        EXPECT_LT(compressed.size(), message.size() / 4) << bits;
        EXPECT_NE(compressed.substr(compressed.size() - 4), std::string("\0\0\xff\xff", 4));
        ASSERT_EQ(inflate_message(compressed, message.size(), inflated), inflate_result::ok);
        EXPECT_EQ(inflated, message);
        EXPECT_EQ(inflate_message(compressed, message.size() - 1, inflated),
                  inflate_result::too_big);
    }
    std::string out;
    EXPECT_EQ(inflate_message("\xff\xff\xff\xff", 100, out), inflate_result::corrupt);
    std::string empty;
    deflate_message("", 15, empty);
    EXPECT_EQ(inflate_message(empty, 10, out), inflate_result::ok);
    EXPECT_EQ(out, "");
}

TEST(permessage_deflate, a_shared_frame_is_compressed_once_per_window_size) {
    const auto plain = make_text_frame(R"({"data":")" + std::string(1000, 'z') + "\"}");
    const auto first = plain->deflated(15, 128);
    ASSERT_TRUE(first);
    EXPECT_EQ(plain->deflated(15, 128), first) << "the cached frame, not a new one";
    EXPECT_NE(plain->deflated(10, 128), first);
    EXPECT_EQ(static_cast<unsigned char>(first->wire()[0]), 0xc1) << "FIN, RSV1, text";
    std::string inflated;
    ASSERT_EQ(inflate_message(first->payload(), 4096, inflated), inflate_result::ok);
    EXPECT_EQ(inflated, plain->payload());
    // Too short to be worth it, or incompressible: the plain frame is sent.
    EXPECT_FALSE(make_text_frame("short")->deflated(15, 128));
    std::mt19937 random(7);
    std::string noise;
    for (int i = 0; i < 300; ++i) noise += static_cast<char>(random() & 0xff);
    EXPECT_FALSE(make_text_frame(noise)->deflated(15, 16));
}
