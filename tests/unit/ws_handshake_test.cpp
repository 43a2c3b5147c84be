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
        // "R" sets padding bits: no encoding of 16 bytes ends so.
        {"key not 16 bytes", http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZR==", 400},
        {"key of 17 bytes", http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZTE=", 400},
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
        EXPECT_TRUE(has_line(r.response, c.status == 426 ? "Connection: Upgrade, close"
                                                         : "Connection: close"))
            << c.name;
        EXPECT_NE(r.response.find("\"error\""), std::string::npos) << c.name;
    }
    auto old = upgrade_request();
    old.set(http::field::sec_websocket_version, "8");
    const auto refused = accept_ws_handshake(old, {});
    EXPECT_EQ(refused.error, "unsupported_version");
    // RFC 6455 4.4: the versions the server speaks; RFC 7231 6.5.15: a 426 names the protocol.
    EXPECT_TRUE(has_line(refused.response, "Sec-WebSocket-Version: 13")) << refused.response;
    EXPECT_TRUE(has_line(refused.response, "Upgrade: websocket")) << refused.response;
    auto post = upgrade_request();
    post.method(http::verb::post);
    EXPECT_FALSE(accept_ws_handshake(post, {}).accepted);
    auto http10 = upgrade_request();
    http10.version(10);
    EXPECT_FALSE(accept_ws_handshake(http10, {}).accepted);
}

TEST(ws_handshake, key_version_and_host_may_appear_only_once_and_no_body) {
    auto refusal = [](const http::request<http::string_body>& req) {
        const auto r = accept_ws_handshake(req, {});
        EXPECT_FALSE(r.accepted);
        EXPECT_EQ(r.error, "bad_handshake");
        EXPECT_EQ(r.response.rfind("HTTP/1.1 400 ", 0), 0u) << r.response;
        return r.response;
    };
    // RFC 6455 4.2.1 and 11.3.1: exactly one key, even when both are valid.
    auto keys = upgrade_request();
    keys.insert(http::field::sec_websocket_key, "AQIDBAUGBwgJCgsMDQ4PEA==");
    EXPECT_NE(refusal(keys).find("Sec-WebSocket-Key appears more than once"), std::string::npos);
    auto same_key = upgrade_request();
    same_key.insert(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    refusal(same_key);
    // RFC 6455 11.3.5: a request has one Sec-WebSocket-Version.
    auto versions = upgrade_request();
    versions.insert(http::field::sec_websocket_version, "13");
    EXPECT_NE(refusal(versions).find("Sec-WebSocket-Version appears more than once"),
              std::string::npos);
    // RFC 7230 5.4: two Host headers are a 400.
    auto hosts = upgrade_request();
    hosts.insert(http::field::host, "other.example");
    refusal(hosts);
    // A body would hold what are the client's first frames.
    auto body = upgrade_request();
    body.body() = "hello";
    body.prepare_payload();
    EXPECT_NE(refusal(body).find("no body"), std::string::npos);
    auto chunked = upgrade_request();
    chunked.set(http::field::transfer_encoding, "chunked");
    refusal(chunked);
    auto empty_length = upgrade_request();
    empty_length.set(http::field::content_length, "0");
    EXPECT_TRUE(accept_ws_handshake(empty_length, {}).accepted) << "Content-Length: 0 is no body";
}

TEST(ws_handshake, upgrade_and_connection_are_lists_over_every_line) {
    // RFC 7230 3.2.2: a list header on two lines is one list.
    auto split = upgrade_request();
    split.set(http::field::connection, "keep-alive");
    split.insert(http::field::connection, "Upgrade");
    EXPECT_TRUE(accept_ws_handshake(split, {}).accepted);
    // RFC 7230 6.7: protocols with versions; websocket among them, in any case.
    for (const char* upgrade : {"foo/1, websocket", "WebSocket", "h2c, websocket, foo/2"}) {
        auto req = upgrade_request();
        req.set(http::field::upgrade, upgrade);
        EXPECT_TRUE(wants_websocket(req)) << upgrade;
        EXPECT_TRUE(accept_ws_handshake(req, {}).accepted) << upgrade;
    }
    auto two_lines = upgrade_request();
    two_lines.set(http::field::upgrade, "foo/1");
    two_lines.insert(http::field::upgrade, "websocket");
    EXPECT_TRUE(wants_websocket(two_lines));
    EXPECT_TRUE(accept_ws_handshake(two_lines, {}).accepted);
    for (const char* upgrade : {"websocket/13", "websockets", "foo/1"}) {
        auto req = upgrade_request();
        req.set(http::field::upgrade, upgrade);
        EXPECT_FALSE(wants_websocket(req)) << upgrade;
        EXPECT_FALSE(accept_ws_handshake(req, {}).accepted) << upgrade;
    }
    // HTTP/1.0: Upgrade is ignored (RFC 7230 6.7), so the request is no handshake.
    auto http10 = upgrade_request();
    http10.version(10);
    EXPECT_FALSE(wants_websocket(http10));
    // A handshake without Connection: Upgrade still wants a WebSocket (and is told what lacks).
    auto no_connection = upgrade_request();
    no_connection.erase(http::field::connection);
    EXPECT_TRUE(wants_websocket(no_connection));
    EXPECT_NE(accept_ws_handshake(no_connection, {}).response.find("Connection: Upgrade is missing"),
              std::string::npos);
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

TEST(permessage_deflate, window_bits_with_a_leading_zero_are_invalid_and_the_offer_declined) {
    // RFC 7692 7.1.2.1 and 7.1.2.2: 1*DIGIT without leading zeros, 8..15.
    for (const char* offer :
         {"permessage-deflate; client_max_window_bits=09",
          "permessage-deflate; server_max_window_bits=09",
          "permessage-deflate; server_max_window_bits=\"09\"",
          "permessage-deflate; client_max_window_bits=010",
          "permessage-deflate; server_max_window_bits=015",
          "permessage-deflate; client_max_window_bits=0"}) {
        EXPECT_FALSE(negotiate_permessage_deflate(offer)) << offer;
    }
    // Declined like any other bad offer: a valid one after it is taken.
    const auto p = negotiate_permessage_deflate(
        "permessage-deflate; server_max_window_bits=09, permessage-deflate; "
        "server_max_window_bits=10; client_max_window_bits=9");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server_window_bits, 10);
    // And the handshake goes on without the extension.
    auto req = upgrade_request();
    req.set(http::field::sec_websocket_extensions, "permessage-deflate; client_max_window_bits=09");
    const auto r = accept_ws_handshake(req, {});
    EXPECT_TRUE(r.accepted);
    EXPECT_FALSE(r.deflate);
    EXPECT_EQ(r.response.find("Sec-WebSocket-Extensions"), std::string::npos) << r.response;
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
