#include <wsgate/tls/tls_stream.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <openssl/ssl.h>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "tls_test_helpers.hpp"

using namespace wsgate;
using namespace wsgate::test;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

std::string pattern(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
}

// A loopback listener on port 0 whose first accepted connection becomes a tls_stream, and a
// client thread running blocking code against it. The server side runs on the test's thread.
struct tls_stream_loopback : ::testing::Test {
    tls_files files{"wsgate-test"};
    tls_context server_ctx{files.cert, files.key};
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, {net::ip::address_v4::loopback(), 0}};
    std::optional<tls_stream> stream;
    std::thread client;
    std::string client_error;

    void accept(std::function<void()> on_accepted) {
        acceptor.async_accept([this, on_accepted](error_code ec, tcp::socket socket) {
            ASSERT_FALSE(ec) << ec.message();
            stream.emplace(std::move(socket), tls_engine(server_ctx));
            on_accepted();
        });
    }

    void run_client(std::function<void(unsigned short port)> body) {
        const unsigned short port = acceptor.local_endpoint().port();
        client = std::thread([this, port, body] {
            try {
                body(port);
            } catch (const std::exception& e) {
                client_error = e.what();
            }
        });
    }

    void run() {
        ioc.run_for(std::chrono::seconds(30));
        if (client.joinable()) client.join();
        EXPECT_EQ(client_error, "");
    }

    ~tls_stream_loopback() override {
        if (client.joinable()) client.join();
    }
};

// An asio::ssl client that trusts the test certificate, checks "localhost" and offers ALPN.
struct ssl_client {
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<tcp::socket>> s;

    ssl_client(const std::string& ca_file, unsigned short port) {
        ctx.load_verify_file(ca_file);
        ctx.set_verify_mode(ssl::verify_peer);
        s.emplace(ioc, ctx);
        SSL_set_tlsext_host_name(s->native_handle(), "localhost");
        SSL_set1_host(s->native_handle(), "localhost");
        static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
        SSL_set_alpn_protos(s->native_handle(), alpn, sizeof alpn);
        s->next_layer().connect({net::ip::address_v4::loopback(), port});
        s->handshake(ssl::stream_base::client);
    }
};

// Blocking I/O for a tls_engine on a plain socket (a client built on the engine itself).
void flush(tcp::socket& socket, tls_engine& e) {
    while (e.pending_ciphertext() > 0) {
        const std::string_view c = e.ciphertext();
        e.consume_ciphertext(net::write(socket, net::buffer(c.data(), c.size())));
    }
}

void handshake(tcp::socket& socket, tls_engine& e) {
    e.start();
    char buf[16 * 1024];
    for (;;) {
        flush(socket, e);
        if (e.handshake_done() || e.state() == tls_state::failed) return;
        e.feed(buf, socket.read_some(net::buffer(buf)));
    }
}

std::string read_plain(tcp::socket& socket, tls_engine& e, std::size_t want) {
    std::string got;
    char buf[16 * 1024];
    while (got.size() < want) {
        if (std::size_t n = e.read_plain(buf, std::min(sizeof buf, want - got.size()))) {
            got.append(buf, n);
            continue;
        }
        flush(socket, e);
        if (e.state() != tls_state::open) break;
        error_code ec;
        const std::size_t n = socket.read_some(net::buffer(buf), ec);
        if (ec) break;
        e.feed(buf, n);
    }
    return got;
}

}  // namespace

// The HTTP side as http_session would drive it: handshake, keep-alive requests, a body larger
// than one write, then close_notify.
TEST_F(tls_stream_loopback, a_beast_http_round_trip_with_an_asio_ssl_client) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    int served = 0;
    error_code server_ec;
    bool shut_down = false;
    std::function<void()> serve = [&] {
        req = {};
        http::async_read(*stream, buffer, req, [&](error_code ec, std::size_t) {
            if (ec) {
                server_ec = ec;
                return;
            }
            res = {http::status::ok, 11};
            res.set(http::field::content_type, "text/plain");
            res.body() = req.body();  // echo
            res.keep_alive(true);
            res.prepare_payload();
            http::async_write(*stream, res, [&](error_code wec, std::size_t) {
                if (wec) {
                    server_ec = wec;
                    return;
                }
                if (++served < 3) return serve();
                stream->async_shutdown([&](error_code sec) { shut_down = !sec; });
            });
        });
    };
    accept([&] {
        stream->async_handshake([&](error_code ec) {
            if (ec) {
                server_ec = ec;
                return;
            }
            serve();
        });
    });

    std::vector<std::string> sent, echoed;
    error_code last_read;
    run_client([&](unsigned short port) {
        ssl_client c(files.cert, port);
        beast::flat_buffer b;
        for (std::size_t size : {0u, 10u, 300000u}) {
            http::request<http::string_body> r{http::verb::post, "/echo", 11};
            r.set(http::field::host, "localhost");
            r.body() = pattern(size, static_cast<unsigned>(size));
            r.prepare_payload();
            http::write(*c.s, r);
            sent.push_back(r.body());
            http::response<http::string_body> answer;
            http::read(*c.s, b, answer);
            echoed.push_back(answer.body());
        }
        http::response<http::string_body> none;
        http::read(*c.s, b, none, last_read);  // the server's close_notify
    });
    run();

    EXPECT_FALSE(server_ec) << server_ec.message();
    EXPECT_EQ(served, 3);
    EXPECT_TRUE(shut_down);
    EXPECT_EQ(stream->engine().alpn(), "http/1.1");
    EXPECT_EQ(stream->engine().protocol(), "TLSv1.3");
    ASSERT_EQ(echoed.size(), 3u);
    EXPECT_TRUE(echoed == sent);
    EXPECT_EQ(last_read, http::error::end_of_stream) << last_read.message();
    EXPECT_EQ(stream->engine().buffered_bytes(), 0u);
}

// After the HTTP exchange (an upgrade, say), the socket and the engine go to the next layer
// with the TLS session intact, including what the client sent right behind its request.
TEST_F(tls_stream_loopback, release_hands_over_the_socket_and_the_engine_with_tls_intact) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    std::optional<tls_stream::released> parts;
    accept([&] {
        stream->async_handshake([&](error_code ec) {
            ASSERT_FALSE(ec) << ec.message();
            http::async_read(*stream, buffer, req, [&](error_code rec, std::size_t) {
                ASSERT_FALSE(rec) << rec.message();
                parts.emplace(stream->release());
            });
        });
    });
    const std::string behind = "sent behind the request";
    const std::string later = "sent later";
    const std::string down = pattern(100000, 1);
    std::string client_got;
    run_client([&](unsigned short port) {
        ssl_client c(files.cert, port);
        const std::string request =
            "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n" + behind;
        net::write(*c.s, net::buffer(request));
        client_got.resize(down.size());
        net::read(*c.s, net::buffer(client_got));
        net::write(*c.s, net::buffer(later));
    });
    ioc.run_for(std::chrono::seconds(10));
    ASSERT_TRUE(parts.has_value());
    EXPECT_EQ(req.target(), "/ws");

    // The next layer (blocking here): what Beast read ahead, then the engine, then the socket.
    tcp::socket& socket = parts->socket;
    tls_engine& engine = parts->engine;
    socket.non_blocking(false);
    std::string got = beast::buffers_to_string(buffer.data());
    got += read_plain(socket, engine, behind.size() - got.size());
    EXPECT_EQ(engine.write_plain(down.data(), down.size()), down.size());
    flush(socket, engine);
    got += read_plain(socket, engine, later.size());
    if (client.joinable()) client.join();
    EXPECT_EQ(client_error, "");
    EXPECT_EQ(got, behind + later);
    EXPECT_TRUE(client_got == down);
}

TEST_F(tls_stream_loopback, plain_http_to_the_tls_port_fails_the_handshake_as_plain_http) {
    error_code handshake_ec;
    accept([&] {
        stream->async_handshake([&](error_code ec) {
            handshake_ec = ec;
            stream->next_layer().close();
        });
    });
    run_client([&](unsigned short port) {
        net::io_context cioc;
        tcp::socket s(cioc);
        s.connect({net::ip::address_v4::loopback(), port});
        net::write(s, net::buffer(std::string("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")));
        char buf[100];
        error_code ec;
        s.read_some(net::buffer(buf), ec);  // the server hangs up
    });
    run();
    EXPECT_EQ(handshake_ec, tls_errc::plain_http) << handshake_ec.message();
    EXPECT_EQ(stream->engine().error_message(),
              "not TLS: looks like plain HTTP (\"GET / HTTP/1.1\")");
}

TEST_F(tls_stream_loopback, a_client_that_drops_the_connection_ends_the_read_with_eof) {
    error_code read_ec = net::error::would_block;
    char buf[100];
    accept([&] {
        stream->async_handshake([&](error_code ec) {
            ASSERT_FALSE(ec) << ec.message();
            stream->async_read_some(net::buffer(buf),
                                    [&](error_code rec, std::size_t) { read_ec = rec; });
        });
    });
    run_client([&](unsigned short port) {
        ssl_client c(files.cert, port);
        c.s->next_layer().shutdown(tcp::socket::shutdown_both);  // no close_notify
    });
    run();
    EXPECT_EQ(read_ec, net::error::eof) << read_ec.message();
}

// A read that must answer (a TLS 1.3 KeyUpdate) while a long write is stuck on a client that
// does not read yet leaves its answer to that write, in order, and goes on reading.
TEST_F(tls_stream_loopback, a_key_update_read_during_a_long_write_is_answered_in_order) {
    const std::string big = pattern(32 << 20, 2);
    char buf[100];
    std::size_t read_n = 0;
    error_code read_ec, write_ec;
    std::size_t written = 0;
    accept([&] {
        stream->async_handshake([&](error_code ec) {
            ASSERT_FALSE(ec) << ec.message();
            net::async_write(*stream, net::buffer(big), [&](error_code wec, std::size_t n) {
                write_ec = wec;
                written = n;
            });
            stream->async_read_some(net::buffer(buf), [&](error_code rec, std::size_t n) {
                read_ec = rec;
                read_n = n;
            });
        });
    });
    std::string client_got;
    run_client([&](unsigned short port) {
        net::io_context cioc;
        tcp::socket s(cioc);
        s.connect({net::ip::address_v4::loopback(), port});
        tls_context client_ctx = tls_context::client(files.cert);
        tls_engine e(client_ctx, "localhost");
        handshake(s, e);
        if (e.state() != tls_state::open) throw std::runtime_error(e.error_message());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server's write stalls
        // A KeyUpdate on its own: the server's read takes it, decrypts nothing, must answer.
        SSL_key_update(e.native_handle(), SSL_KEY_UPDATE_REQUESTED);
        SSL_do_handshake(e.native_handle());
        flush(s, e);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        e.write_plain("hello", 5);
        flush(s, e);
        client_got = read_plain(s, e, big.size());
    });
    run();
    EXPECT_FALSE(write_ec) << write_ec.message();
    EXPECT_EQ(written, big.size());
    EXPECT_FALSE(read_ec) << read_ec.message();
    EXPECT_EQ(std::string(buf, read_n), "hello");
    EXPECT_TRUE(client_got == big) << client_got.size() << " bytes of " << big.size();
}

// A write that starts while a read is writing (output the read found queued) waits for it and
// goes out after it.
TEST_F(tls_stream_loopback, a_write_waits_for_a_read_that_is_writing_and_keeps_the_order) {
    const std::string big = pattern(16 << 20, 3);
    const std::string tail = "tail";
    char buf[100];
    std::size_t read_n = 0;
    std::size_t written = 0;
    error_code read_ec, write_ec;
    net::steady_timer later(ioc);
    accept([&] {
        stream->async_handshake([&](error_code ec) {
            ASSERT_FALSE(ec) << ec.message();
            // Fill the socket behind the stream's back and leave the rest queued in the engine:
            // the read starts by writing it, and stalls, as the client does not read yet.
            tls_engine& e = stream->engine();
            e.write_plain(big.data(), big.size());
            for (;;) {
                error_code wec;
                const std::string_view c = e.ciphertext();
                const std::size_t n =
                    stream->next_layer().write_some(net::buffer(c.data(), c.size()), wec);
                if (wec) break;
                e.consume_ciphertext(n);
            }
            ASSERT_GT(e.pending_ciphertext(), 0u);
            stream->async_read_some(net::buffer(buf), [&](error_code rec, std::size_t n) {
                read_ec = rec;
                read_n = n;
            });
            later.expires_after(std::chrono::milliseconds(200));
            later.async_wait([&](error_code) {
                stream->async_write_some(net::buffer(tail), [&](error_code wec, std::size_t n) {
                    write_ec = wec;
                    written = n;
                });
            });
        });
    });
    std::string client_got;
    run_client([&](unsigned short port) {
        net::io_context cioc;
        tcp::socket s(cioc);
        s.connect({net::ip::address_v4::loopback(), port});
        tls_context client_ctx = tls_context::client(files.cert);
        tls_engine e(client_ctx, "localhost");
        handshake(s, e);
        if (e.state() != tls_state::open) throw std::runtime_error(e.error_message());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        client_got = read_plain(s, e, big.size() + tail.size());
        e.write_plain("hello", 5);
        flush(s, e);
    });
    run();
    EXPECT_FALSE(write_ec) << write_ec.message();
    EXPECT_EQ(written, tail.size());
    EXPECT_FALSE(read_ec) << read_ec.message();
    EXPECT_EQ(std::string(buf, read_n), "hello");
    EXPECT_TRUE(client_got == big + tail) << client_got.size() << " bytes of " << big.size() + 4;
}
