// What a client may have waiting for it, what it may send, and how long each phase of its
// connection may last: an accepted event always reaches an idle client, every frame the server
// queues counts against the client's budget, every frame the client sends against its rate,
// and a connection that will not finish closing is cut.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "prometheus_text.hpp"
#include "raw_socket.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

double metric(const gateway_process& gw, const std::string& series) {
    return find_series(http_client(gw.api_port()).get("/metrics").body, series).value_or(0);
}

// A publish body of exactly `size` bytes: a channel event whose data is one string.
std::string publish_body_of(std::size_t size, const std::string& channel) {
    const std::string head = R"({"channel":")" + channel + R"(","event":"big","data":")";
    const std::string tail = "\"}";
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

// A raw client (no automatic answers) upgraded and subscribed to `channel`.
void subscribe_raw(raw_socket& s, std::uint16_t port, const std::string& channel) {
    ASSERT_EQ(raw_upgrade(s, port), 101u);
    ASSERT_TRUE(s.send_all(client_frame(
        opcode::text, json{{"type", "subscribe"}, {"channel", channel}, {"id", 1}}.dump())));
    ASSERT_TRUE(s.receive_until(
        [&s] { return s.received().find("\"ack\"") != std::string::npos; }, 5s));
    s.received().clear();
}

// A gateway on its defaults and one client subscribed to `big`, reading.
struct idle_reader {
    idle_reader() {
        client.connect(gw.public_port());
        client.subscribe("big");
    }
    gateway_process gw;
    http_client api{gw.api_port(), 10s};
    ws_client client{10s};
};

}  // namespace

// a5d4eca: an event whose body is exactly at the REST limit was answered 202 and then closed
// every subscriber that had not negotiated compression as a slow consumer.
TEST(backpressure, an_event_at_the_rest_body_limit_reaches_an_idle_client) {
    idle_reader r;
    const auto answer = r.api.post_json("/api/v1/publish", publish_body_of(1024 * 1024, "big"));
    ASSERT_EQ(answer.status, 202u) << answer.body;
    const auto event = r.client.read_json();
    EXPECT_EQ(event["type"], "event");
    EXPECT_EQ(event["data"].get<std::string>().size(), 1024u * 1024u - 41u);
    EXPECT_TRUE(r.client.ping());
    EXPECT_EQ(metric(r.gw, "wsgate_slow_consumer_closes_total"), 0);
}

TEST(backpressure, a_full_batch_at_the_body_limit_reaches_an_idle_client) {
    idle_reader r;
    // 1000 events (the batch limit) in a body just under 1 MiB: their frames are longer than
    // the body (each gets a type, an id and a frame header).
    std::string body = "[";
    const std::string data(990, 'y');
    for (int i = 0; i < 1000; ++i) {
        if (i > 0) body += ',';
        body += R"({"channel":"big","event":"e","data":")" + data + "\"}";
    }
    body += ']';
    ASSERT_LE(body.size(), 1024u * 1024u);
    ASSERT_EQ(r.api.post_json("/api/v1/publish/batch", body).status, 202u);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(r.client.read_json()["type"], "event") << i;
    EXPECT_EQ(metric(r.gw, "wsgate_slow_consumer_closes_total"), 0);
}

// a5d4eca: WebSocket pings were answered without counting against the message rate.
TEST(backpressure, ping_frames_count_against_the_message_rate) {
    gateway_process gw;  // 100 messages/s, bursts of 200
    raw_socket s(gw.public_port());
    ASSERT_EQ(raw_upgrade(s, gw.public_port()), 101u);
    s.received().clear();
    std::string flood;
    for (int i = 0; i < 1000; ++i) flood += client_frame(opcode::ping, "p");
    ASSERT_TRUE(s.send_all(flood));
    std::size_t pongs = 0;
    std::uint16_t close_code = 0;
    std::string reason;
    ASSERT_TRUE(s.receive_until(
        [&] {
            for (auto& f : take_frames(s.received())) {
                if (f.op == opcode::pong) ++pongs;
                if (f.op == opcode::close) {
                    close_code = f.close_code();
                    reason = f.close_reason();
                }
            }
            return close_code != 0;
        },
        10s));
    ASSERT_TRUE(s.send_all(client_frame(opcode::close, std::string("\x03\xf0", 2))));
    EXPECT_TRUE(s.wait_input_end(5s));
    EXPECT_EQ(close_code, 1008);
    EXPECT_EQ(reason, "rate limit exceeded");
    EXPECT_LE(pongs, 400u) << "pongs answered";
    EXPECT_GE(metric(gw, R"(wsgate_errors_total{source="ws",code="rate_limited"})"), 200);
}

// a5d4eca: pongs (and acks, errors) were queued without a bound: a client that pings and never
// reads grew the server's memory without limit.
TEST(backpressure, a_client_that_pings_and_never_reads_is_closed_as_a_slow_consumer) {
    gateway_process gw({"--limits.message_rate", "1000000", "--limits.message_burst", "1000000",
                        "--limits.max_message_bytes", "1024"});
    raw_socket s(gw.public_port(), raw_socket::receive_buffer{4096});
    ASSERT_EQ(raw_upgrade(s, gw.public_port()), 101u);
    const double rss_before = metric(gw, "process_resident_memory_bytes");
    // 125-byte pings, each answered with a 127-byte pong, until the server gives up on the
    // client (at most 64 MiB sent: far more than kernel buffers and the 2 MiB budget hold).
    std::string burst;
    for (int i = 0; i < 1000; ++i) burst += client_frame(opcode::ping, std::string(125, 'p'));
    bool closed = false;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (s.bytes_sent() < 64u * 1024 * 1024 && std::chrono::steady_clock::now() < deadline) {
        if (!s.send_all(burst, 2s)) break;  // the server stopped reading: it closed us
        if (s.bytes_sent() % (4u * 1024 * 1024) < burst.size() &&
            metric(gw, "wsgate_slow_consumer_closes_total") >= 1) {
            closed = true;
            break;
        }
    }
    closed = closed || metric(gw, "wsgate_slow_consumer_closes_total") >= 1;
    EXPECT_TRUE(closed) << "still open after " << s.bytes_sent() << " bytes of pings";
    const double rss_after = metric(gw, "process_resident_memory_bytes");
    EXPECT_LT(rss_after - rss_before, 32.0 * 1024 * 1024)
        << "RSS before " << rss_before << ", after " << rss_after;
    // Its close frame cannot reach a client that does not read: cut after timeouts.close_ms.
    EXPECT_EQ(http_client(gw.api_port()).wait_metric("wsgate_connections", 0, 10s), 0);
}

// a5d4eca: a connection closing (here: the client's close frame, while the server still had
// events queued for it) waited forever for a client that does not read.
TEST(backpressure, a_connection_that_cannot_finish_closing_is_cut_after_the_close_deadline) {
    gateway_process gw;  // timeouts.close_ms 5000
    http_client api(gw.api_port());
    raw_socket s(gw.public_port(), raw_socket::receive_buffer{4096});
    subscribe_raw(s, gw.public_port(), "firehose");
    // Events until some stay queued in the server (the kernel buffers are full), well under
    // the slow-consumer budget.
    const std::string chunk(32 * 1024, 'c');
    const double sent_before = metric(gw, "wsgate_frames_sent_total");
    auto stuck = [&] {  // events queued for the client and not (all) written yet
        return metric(gw, "wsgate_deliveries_total") -
               (metric(gw, "wsgate_frames_sent_total") - sent_before);
    };
    // (Loopback takes megabytes into kernel buffers first; 200 × 32 KiB is well beyond that.)
    for (int i = 0; i < 200 && stuck() < 2; ++i)
        api.publish_ok(json{{"channel", "firehose"}, {"event", "e"}, {"data", chunk}});
    ASSERT_GE(stuck(), 2) << "nothing stayed queued: the test did not reach its situation";
    // The client says goodbye and never reads.
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.send_all(client_frame(opcode::close, std::string("\x03\xe8", 2))));
    EXPECT_EQ(api.wait_metric("wsgate_connections", 0, 9s), 0);
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              start);
    EXPECT_GE(took.count(), 4500);
    EXPECT_EQ(metric(gw, "wsgate_close_timeouts_total"), 1);
    ASSERT_TRUE(gw.running());
}

TEST(backpressure, the_close_deadline_is_configurable) {
    gateway_process gw({"--timeouts.close_ms", "500"});
    http_client api(gw.api_port());
    raw_socket s(gw.public_port());
    ASSERT_EQ(raw_upgrade(s, gw.public_port()), 101u);
    s.received().clear();
    // A server close (binary frames are refused with 1003) that the client never answers.
    ASSERT_TRUE(s.send_all(client_frame(opcode::binary, "x")));
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.wait_input_end(5s));
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              start);
    EXPECT_GE(took.count(), 400);
    EXPECT_LT(took.count(), 3000);
    EXPECT_EQ(api.wait_metric("wsgate_close_timeouts_total", 1), 1);
}

}  // namespace wsgate::test
