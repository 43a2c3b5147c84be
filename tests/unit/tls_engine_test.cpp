#include <wsgate/tls/tls_context.hpp>
#include <wsgate/tls/tls_engine.hpp>

#include <boost/asio/buffer.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <openssl/ssl.h>
#include <random>
#include <string>
#include <vector>

#include "tls_test_helpers.hpp"

using namespace wsgate;
using namespace wsgate::test;

namespace {

std::string pattern(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

struct tls_engines : ::testing::Test {
    tls_files files{"wsgate-test"};
    tls_context server_ctx{files.cert, files.key};
    tls_context client_ctx = tls_context::client();
};

}  // namespace

TEST_F(tls_engines, handshake_completes_in_memory_with_tls13_and_alpn_http11) {
    duplex d(client_ctx, server_ctx);
    EXPECT_EQ(d.server.state(), tls_state::handshaking);
    EXPECT_FALSE(d.server.writable());
    ASSERT_TRUE(d.handshake()) << d.server.error_message() << " / " << d.client.error_message();
    EXPECT_TRUE(d.server.handshake_done());
    EXPECT_TRUE(d.server.writable());
    EXPECT_EQ(d.server.protocol(), "TLSv1.3");
    EXPECT_EQ(d.server.alpn(), "http/1.1");
    EXPECT_EQ(d.client.alpn(), "http/1.1");
    EXPECT_EQ(d.client.peer_certificate_subject(), "CN=wsgate-test");
    EXPECT_EQ(d.server.peer_certificate_subject(), "") << "no client certificates";
    EXPECT_FALSE(d.server.error());
    std::printf("negotiated %s %s\n", std::string(d.server.protocol()).c_str(),
                std::string(d.server.cipher()).c_str());
}

TEST_F(tls_engines, a_tls12_client_gets_ecdhe_with_an_aead_cipher) {
    SSL_CTX_set_max_proto_version(client_ctx.native_handle(), TLS1_2_VERSION);
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake()) << d.server.error_message();
    EXPECT_EQ(d.server.protocol(), "TLSv1.2");
    const std::string cipher(d.server.cipher());
    EXPECT_EQ(cipher.rfind("ECDHE-", 0), 0u) << cipher;
    EXPECT_TRUE(cipher.find("GCM") != std::string::npos ||
                cipher.find("CHACHA20") != std::string::npos)
        << cipher;
}

TEST_F(tls_engines, a_tls11_client_is_refused) {
    SSL_CTX* c = client_ctx.native_handle();
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_min_proto_version(c, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
    duplex d(client_ctx, server_ctx);
    EXPECT_FALSE(d.handshake());
    EXPECT_EQ(d.server.state(), tls_state::failed);
    EXPECT_EQ(d.server.error(), tls_errc::handshake_failed);
    std::printf("server: %s\n", d.server.error_message().c_str());
    EXPECT_NE(d.server.error_message().find("unsupported protocol"), std::string::npos)
        << d.server.error_message();
    EXPECT_EQ(d.client.state(), tls_state::failed) << "the server's alert reached the client";
}

TEST_F(tls_engines, a_client_without_a_shared_cipher_is_refused_with_no_shared_cipher) {
    SSL_CTX* c = client_ctx.native_handle();
    SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(c, "AES128-GCM-SHA256");  // RSA key exchange: no forward secrecy
    duplex d(client_ctx, server_ctx);
    EXPECT_FALSE(d.handshake());
    EXPECT_EQ(d.server.error(), tls_errc::handshake_failed);
    std::printf("server: %s\n", d.server.error_message().c_str());
    EXPECT_NE(d.server.error_message().find("no shared cipher"), std::string::npos)
        << d.server.error_message();
}

TEST_F(tls_engines, a_verifying_client_checks_the_chain_and_the_name) {
    tls_context verifying = tls_context::client(files.cert);
    duplex good(verifying, server_ctx, "localhost");
    EXPECT_TRUE(good.handshake()) << good.client.error_message();

    duplex wrong_name(verifying, server_ctx, "example.com");
    EXPECT_FALSE(wrong_name.handshake());
    std::printf("client: %s\n", wrong_name.client.error_message().c_str());
    EXPECT_NE(wrong_name.client.error_message().find("hostname mismatch"), std::string::npos)
        << wrong_name.client.error_message();
    EXPECT_EQ(wrong_name.server.state(), tls_state::failed);
    std::printf("server: %s\n", wrong_name.server.error_message().c_str());

    tls_files stranger("stranger");
    tls_context trusts_stranger = tls_context::client(stranger.cert);
    duplex wrong_ca(trusts_stranger, server_ctx);
    EXPECT_FALSE(wrong_ca.handshake());
    std::printf("client: %s\n", wrong_ca.client.error_message().c_str());
}

TEST_F(tls_engines, large_data_flows_both_ways) {
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake());
    const std::string up = pattern(4 << 20, 1);
    const std::string down = pattern(3 << 20, 2);
    EXPECT_EQ(d.client.write_plain(up.data(), up.size()), up.size());
    EXPECT_EQ(d.server.write_plain(down.data(), down.size()), down.size());
    d.pump();
    EXPECT_TRUE(d.server_got == up);
    EXPECT_TRUE(d.client_got == down);
    EXPECT_EQ(d.server.state(), tls_state::open);
    EXPECT_EQ(d.server.buffered_bytes(), 0u);
    EXPECT_EQ(d.client.buffered_bytes(), 0u);
}

TEST_F(tls_engines, fragmented_input_handshakes_and_delivers_everything) {
    for (std::size_t piece : {1u, 7u, 1000u}) {
        duplex d(client_ctx, server_ctx);
        d.piece = piece;
        ASSERT_TRUE(d.handshake()) << "piece " << piece << ": " << d.server.error_message();
        const std::string up = pattern(piece == 1 ? 40000 : 300000, 3);
        const std::string down = pattern(piece == 1 ? 30000 : 200000, 4);
        d.client.write_plain(up.data(), up.size());
        d.server.write_plain(down.data(), down.size());
        d.pump();
        EXPECT_TRUE(d.server_got == up) << "piece " << piece;
        EXPECT_TRUE(d.client_got == down) << "piece " << piece;
    }
}

TEST_F(tls_engines, a_gather_write_of_small_frames_shares_one_record) {
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake());
    std::vector<std::string> frames;
    std::vector<boost::asio::const_buffer> queue;
    std::string expected;
    for (int i = 0; i < 100; ++i)
        frames.push_back(std::string(50, static_cast<char>('a' + i % 26)));
    for (const auto& f : frames) {
        queue.push_back(boost::asio::buffer(f));
        expected += f;
    }
    EXPECT_EQ(d.server.write_plain_from(queue), expected.size());
    const std::size_t gathered = d.server.pending_ciphertext();
    d.pump();
    EXPECT_EQ(d.client_got, expected);

    for (const auto& f : frames) d.server.write_plain(f.data(), f.size());
    const std::size_t one_by_one = d.server.pending_ciphertext();
    d.client_got.clear();
    d.pump();
    EXPECT_EQ(d.client_got, expected);

    std::printf("100 frames of 50 bytes: %zu bytes gathered, %zu one by one\n", gathered,
                one_by_one);
    EXPECT_EQ(gathered, expected.size() + 22) << "one TLS 1.3 record: 5 + 1 + 16 bytes more";
    EXPECT_EQ(one_by_one, expected.size() + 100 * 22);
}

TEST_F(tls_engines, a_gather_write_of_mixed_sizes_arrives_in_order_and_stops_at_max) {
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake());
    std::vector<std::string> parts;
    for (std::size_t n : {10u, 100000u, 3u, 16384u, 1u, 40000u, 0u, 16383u, 5u})
        parts.push_back(pattern(n, static_cast<unsigned>(n)));
    std::vector<boost::asio::const_buffer> queue;
    std::string expected;
    for (const auto& p : parts) {
        queue.push_back(boost::asio::buffer(p));
        expected += p;
    }
    EXPECT_EQ(d.client.write_plain_from(queue), expected.size());
    d.pump();
    EXPECT_TRUE(d.server_got == expected);

    d.server_got.clear();
    EXPECT_EQ(d.client.write_plain_from(queue, 100005), 100005u);
    d.pump();
    EXPECT_TRUE(d.server_got == expected.substr(0, 100005));
}

TEST_F(tls_engines, ciphertext_handed_out_stays_valid_while_more_is_queued) {
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake());
    d.server.write_plain("first", 5);
    boost::asio::const_buffer in_flight[4];
    const std::size_t k = d.server.ciphertext_buffers(in_flight, 4);
    ASSERT_EQ(k, 1u);
    const std::string copy(static_cast<const char*>(in_flight[0].data()), in_flight[0].size());
    const std::string more = pattern(200000, 9);
    d.server.write_plain(more.data(), more.size());  // as if while a write was in flight
    EXPECT_EQ(std::string(static_cast<const char*>(in_flight[0].data()), in_flight[0].size()),
              copy);
    boost::asio::const_buffer all[64];
    const std::size_t chunks = d.server.ciphertext_buffers(all, 64);
    std::size_t total = 0;
    for (std::size_t i = 0; i < chunks; ++i) total += all[i].size();
    EXPECT_EQ(total, d.server.pending_ciphertext());
    EXPECT_EQ(all[0].data(), in_flight[0].data());
    d.pump();
    EXPECT_TRUE(d.client_got == "first" + more);
}

TEST_F(tls_engines, close_notify_closes_the_peer_after_the_data_before_it) {
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake());
    d.client.write_plain("bye", 3);
    d.client.shutdown();
    EXPECT_TRUE(d.client.close_notify_sent());
    EXPECT_FALSE(d.client.writable());
    EXPECT_EQ(d.client.write_plain("more", 4), 0u);
    d.pump();
    EXPECT_EQ(d.server_got, "bye");
    EXPECT_EQ(d.server.state(), tls_state::closed);
    EXPECT_FALSE(d.server.error());
    d.server.shutdown();
    d.pump();
    EXPECT_EQ(d.client.state(), tls_state::closed);
    EXPECT_EQ(d.server.buffered_bytes(), 0u);
}

TEST_F(tls_engines, plain_http_to_the_tls_port_is_reported_as_such) {
    tls_engine server(server_ctx);
    const std::string request = "GET /ws HTTP/1.1\r\nHost: example.com\r\n\r\n";
    server.feed(request.data(), request.size());
    EXPECT_EQ(server.state(), tls_state::failed);
    EXPECT_EQ(server.error(), tls_errc::plain_http);
    EXPECT_EQ(server.error().message(), "not TLS: looks like plain HTTP");
    EXPECT_EQ(server.error_message(), "not TLS: looks like plain HTTP (\"GET /ws HTTP/1.1\")");
    EXPECT_EQ(server.pending_ciphertext(), 0u) << "no TLS alert for a peer that speaks none";
}

TEST_F(tls_engines, a_first_byte_that_cannot_start_tls_is_reported_as_not_tls) {
    tls_engine server(server_ctx);
    server.feed("{\"hello\":1}", 11);
    EXPECT_EQ(server.error(), tls_errc::not_tls);
    EXPECT_EQ(server.error_message(), "not TLS: the first byte is 0x7b");
}

TEST_F(tls_engines, a_broken_client_hello_fails_the_handshake) {
    tls_engine server(server_ctx);
    std::string hello("\x16\x03\x01\x00\x40", 5);  // a handshake record of 64 bytes
    hello += pattern(0x40, 5);
    server.feed(hello.data(), hello.size());
    EXPECT_EQ(server.state(), tls_state::failed);
    EXPECT_EQ(server.error(), tls_errc::handshake_failed);
    std::printf("server: %s\n", server.error_message().c_str());
    EXPECT_GT(server.pending_ciphertext(), 0u) << "an alert for the client";
}

TEST_F(tls_engines, garbage_after_the_handshake_fails_with_a_protocol_error) {
    duplex d(client_ctx, server_ctx);
    ASSERT_TRUE(d.handshake());
    std::string record("\x17\x03\x03\x00\x40", 5);  // application data, 64 bytes
    record += pattern(0x40, 6);
    d.server.feed(record.data(), record.size());
    char buf[100];
    EXPECT_EQ(d.server.read_plain(buf, sizeof buf), 0u);
    EXPECT_EQ(d.server.state(), tls_state::failed);
    EXPECT_EQ(d.server.error(), tls_errc::protocol_error);
    std::printf("server: %s\n", d.server.error_message().c_str());
    EXPECT_NE(d.server.error_message().find("bad record mac"), std::string::npos)
        << d.server.error_message();
    EXPECT_FALSE(d.server.writable());
    EXPECT_EQ(d.server.write_plain("x", 1), 0u);
}

TEST_F(tls_engines, a_flood_of_unread_input_fails_at_the_limit_instead_of_growing) {
    tls_limits limits;
    limits.max_input = 64 * 1024;
    duplex d(client_ctx, server_ctx, "localhost", limits);
    ASSERT_TRUE(d.handshake());
    const std::string flood = pattern(1 << 20, 7);
    d.client.write_plain(flood.data(), flood.size());
    std::size_t fed = 0;
    std::size_t most = 0;
    while (d.client.pending_ciphertext() > 0 && d.server.state() == tls_state::open) {
        const std::string_view c = d.client.ciphertext();
        d.server.feed(c.data(), std::min<std::size_t>(c.size(), 4096));  // never read_plain()
        d.client.consume_ciphertext(std::min<std::size_t>(c.size(), 4096));
        fed += std::min<std::size_t>(c.size(), 4096);
        most = std::max(most, d.server.buffered_bytes());
    }
    EXPECT_EQ(d.server.state(), tls_state::failed);
    EXPECT_EQ(d.server.error(), tls_errc::overflow);
    std::printf("failed after %zu bytes fed: %s (most held: %zu)\n", fed,
                d.server.error_message().c_str(), most);
    EXPECT_LE(fed, limits.max_input + 4096);
    EXPECT_LE(most, 2 * limits.max_input) << "string capacity grows by doubling at most";
    EXPECT_EQ(d.server.buffered_bytes(), 0u) << "a failed engine lets its input go";
}

TEST_F(tls_engines, endless_garbage_does_not_grow_memory) {
    tls_engine server(server_ctx);
    const std::string hello("\x16\x03\x01\x40\x00", 5);  // a 16 KiB record, garbage forever
    server.feed(hello.data(), hello.size());
    const std::string junk = pattern(64 * 1024, 8);
    const std::size_t before = heap_in_use();
    for (int i = 0; i < 160 && server.state() == tls_state::handshaking; ++i)
        server.feed(junk.data(), junk.size());
    EXPECT_EQ(server.state(), tls_state::failed);
    std::printf("server: %s\n", server.error_message().c_str());
    for (int i = 0; i < 160; ++i) server.feed(junk.data(), junk.size());  // 10 MiB more
    EXPECT_EQ(server.pending_input(), 0u);
    server.consume_ciphertext(server.pending_ciphertext());  // the alert
    EXPECT_EQ(server.buffered_bytes(), 0u);
    EXPECT_LT(heap_in_use(), before + 64 * 1024);
}

TEST_F(tls_engines, a_peer_that_sends_without_reading_cannot_pile_up_answers) {
    tls_limits limits;
    limits.max_reply = 4096;
    duplex d(client_ctx, server_ctx, "localhost", limits);
    ASSERT_TRUE(d.handshake());
    // Each KeyUpdate that asks for an answer makes the server queue one; the client never
    // takes the server's output.
    int sent = 0;
    for (; sent < 2000 && d.server.state() == tls_state::open; ++sent) {
        ASSERT_EQ(SSL_key_update(d.client.native_handle(), SSL_KEY_UPDATE_REQUESTED), 1);
        d.client.write_plain("x", 1);
        while (d.client.pending_ciphertext() > 0) {
            const std::string_view c = d.client.ciphertext();
            d.server.feed(c.data(), c.size());
            d.client.consume_ciphertext(c.size());
            duplex::drain(d.server, d.server_got);
        }
    }
    EXPECT_EQ(d.server.state(), tls_state::failed);
    EXPECT_EQ(d.server.error(), tls_errc::overflow);
    std::printf("after %d key updates: %s\n", sent, d.server.error_message().c_str());
    EXPECT_LE(d.server.pending_ciphertext(), limits.max_reply + 1024);
}

TEST_F(tls_engines, a_client_resumes_with_a_ticket_but_not_across_a_reload) {
    duplex first(client_ctx, server_ctx);
    ASSERT_TRUE(first.handshake());
    SSL_SESSION* session = SSL_get1_session(first.client.native_handle());
    ASSERT_NE(session, nullptr);
    ASSERT_EQ(SSL_SESSION_is_resumable(session), 1) << "the ticket arrived";

    duplex again(client_ctx, server_ctx);
    SSL_set_session(again.client.native_handle(), session);
    ASSERT_TRUE(again.handshake());
    EXPECT_TRUE(again.server.session_reused());

    ASSERT_EQ(server_ctx.reload(), "");
    duplex after_reload(client_ctx, server_ctx);
    SSL_set_session(after_reload.client.native_handle(), session);
    ASSERT_TRUE(after_reload.handshake()) << "a full handshake instead";
    EXPECT_FALSE(after_reload.server.session_reused());
    SSL_SESSION_free(session);
}

TEST_F(tls_engines, after_a_reload_new_handshakes_see_the_new_certificate_and_open_ones_go_on) {
    auto ctx = std::make_unique<tls_context>(files.cert, files.key);
    duplex old_one(client_ctx, *ctx);
    ASSERT_TRUE(old_one.handshake());

    files.write(make_self_signed("renewed"));
    ASSERT_EQ(ctx->reload(), "");
    duplex new_one(client_ctx, *ctx);
    ASSERT_TRUE(new_one.handshake());
    EXPECT_EQ(new_one.client.peer_certificate_subject(), "CN=renewed");

    // A bad reload later changes nothing for anyone.
    files.dir.write_file("key.pem", make_self_signed("x").key_pem);
    EXPECT_NE(ctx->reload(), "");
    duplex newer(client_ctx, *ctx);
    ASSERT_TRUE(newer.handshake());
    EXPECT_EQ(newer.client.peer_certificate_subject(), "CN=renewed");

    // The connection made before the reload still works, even with the context gone.
    ctx.reset();
    old_one.client.write_plain("still", 5);
    old_one.server.write_plain("here", 4);
    old_one.pump();
    EXPECT_EQ(old_one.server_got, "still");
    EXPECT_EQ(old_one.client_got, "here");
    EXPECT_EQ(old_one.client.peer_certificate_subject(), "CN=wsgate-test");
}

namespace {

// Heap bytes per server engine, measured over `n` of them: fresh (before any input), or idle
// after a handshake with `client_ctx` and a few bytes each way (then the client engines are
// destroyed, so only the servers remain).
std::size_t server_engine_bytes(const tls_context& client_ctx, const tls_context& server_ctx,
                                bool handshake) {
    constexpr std::size_t n = 200;
    {
        duplex warm_up(client_ctx, server_ctx);  // OpenSSL's one-time tables
        warm_up.handshake();
    }
    std::vector<std::unique_ptr<duplex>> pairs;
    pairs.reserve(n);
    std::size_t clients = 0;
    const std::size_t before = heap_in_use();
    for (std::size_t i = 0; i < n; ++i) {
        pairs.push_back(std::make_unique<duplex>(client_ctx, server_ctx));
        duplex& d = *pairs.back();
        if (!handshake) continue;
        EXPECT_TRUE(d.handshake());
        d.client.write_plain("ping", 4);
        d.server.write_plain("pong", 4);
        d.pump();
        EXPECT_EQ(d.server_got, "ping");
        EXPECT_EQ(d.server.buffered_bytes(), 0u);
        EXPECT_EQ(d.server.pending_input(), 0u);
        EXPECT_EQ(d.server.pending_plain(), 0u);
    }
    const std::size_t both = heap_in_use();
    for (auto& d : pairs) tls_engine gone = std::move(d->client);
    const std::size_t servers = heap_in_use();
    clients = (both - servers) / n;
    std::printf("  (client engines: %zu bytes each)\n", clients);
    return (servers - before) / n - sizeof(duplex);
}

}  // namespace

TEST_F(tls_engines, an_idle_engine_after_the_handshake_holds_little_memory) {
    const std::size_t fresh = server_engine_bytes(client_ctx, server_ctx, false);
    std::printf("fresh server engine (no input yet): %zu bytes\n", fresh);
    const std::size_t tls13 = server_engine_bytes(client_ctx, server_ctx, true);
    std::printf("idle server engine after a TLS 1.3 handshake (P-256 certificate): %zu bytes\n",
                tls13);
    SSL_CTX_set_max_proto_version(client_ctx.native_handle(), TLS1_2_VERSION);
    const std::size_t tls12 = server_engine_bytes(client_ctx, server_ctx, true);
    std::printf("idle server engine after a TLS 1.2 handshake (P-256 certificate): %zu bytes\n",
                tls12);
    EXPECT_LT(tls13, 20u * 1024);
    EXPECT_LT(tls12, 20u * 1024);
}
