// Attacks on the wire format: a frame announcing 10 MiB (close 1009 from its header, nothing
// buffered), a slowloris handshake (the upgrade request one byte per second: cut after
// timeouts.handshake_ms), and text that is not UTF-8 (close 1007).

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "raw_socket.hpp"
#include "security_env.hpp"
#include "test_io.hpp"

namespace wsgate::test::security {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds since(clock_type::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

/// Upgrades `socket` with a valid token for `user` and reads the welcome frame.
void upgrade_and_welcome(raw_socket& socket, std::uint16_t port, const std::string& user) {
    const unsigned status = raw_upgrade(socket, port, "/ws", bearer(token_for(user)));
    if (status != 101) {
        throw io_failure("upgrade answered " + std::to_string(status));
    }
    std::vector<wire_frame> frames;
    socket.receive_until(
        [&] {
            for (auto& f : take_frames(socket.received())) frames.push_back(std::move(f));
            return !frames.empty();
        },
        10s);
    if (frames.empty() || frames.front().payload.find("\"welcome\"") == std::string::npos) {
        throw io_failure("no welcome frame (" + socket.end_description() + ")");
    }
}

constexpr std::uint64_t huge_frame_bytes = 10 * 1024 * 1024;

struct huge_frame_result {
    std::optional<wire_frame> close;
    std::chrono::milliseconds close_after{0};    ///< from sending the header
    std::uint64_t payload_before_close = 0;      ///< payload bytes written when the close came
    std::uint64_t payload_sent = 0;              ///< payload bytes written in all
    std::chrono::milliseconds hung_up_after{0};  ///< until a write failed (the gateway closed)
    bool hung_up = false;
    std::string end;
};

/// Sends the header of a 10 MiB text frame and its first 64 KiB; waits for the gateway's answer;
/// then keeps streaming the payload, as an attacker would, until the gateway hangs up.
huge_frame_result send_huge_frame(std::uint16_t port) {
    raw_socket socket(port);
    upgrade_and_welcome(socket, port, "mallory");
    huge_frame_result result;
    const std::string chunk(64 * 1024, 'a');

    const std::string header = client_frame_header(opcode::text, huge_frame_bytes);
    const std::uint64_t payload_start = socket.bytes_sent() + header.size();
    const auto payload_sent = [&] { return socket.bytes_sent() - payload_start; };
    const auto start = clock_type::now();
    socket.send_all(header + chunk);
    socket.receive_until(
        [&] {
            for (auto& f : take_frames(socket.received())) {
                if (f.op == opcode::close) result.close = std::move(f);
            }
            return result.close.has_value();
        },
        10s);
    result.close_after = since(start);
    result.payload_before_close = payload_sent();

    while (payload_sent() < huge_frame_bytes && !socket.write_failed() && since(start) < 20s) {
        const auto left = static_cast<std::size_t>(
            std::min<std::uint64_t>(huge_frame_bytes - payload_sent(), chunk.size()));
        socket.send_all(std::string_view(chunk).substr(0, left), 100ms);
    }
    // Knock until a write fails: the gateway has closed the socket.
    while (!socket.write_failed() && since(start) < 20s) {
        socket.send_some("a");
        std::this_thread::sleep_for(50ms);
    }
    result.payload_sent = std::min(payload_sent(), huge_frame_bytes);
    result.hung_up = socket.write_failed();
    result.hung_up_after = since(start);
    result.end = socket.end_description();
    return result;
}

TEST_F(security_test, frame_of_10_mib_is_refused_from_its_header) {
    const counter too_big(closes_series("too_big"));
    const long rss_before = env().gateway().resident_kib();
    const auto port = env().gateway().public_port();

    const auto result =
        while_bystander_receives("a 10 MiB frame", [port] { return send_huge_frame(port); });

    ASSERT_TRUE(result.close.has_value()) << "no close frame (" << result.end << ")";
    EXPECT_EQ(result.close->close_code(), 1009);
    // Judged on the header: the answer came before the payload, not after 10 MiB of it.
    EXPECT_LE(result.payload_before_close, 64u * 1024u);
    EXPECT_LT(result.close_after.count(), 3000);
    // Whatever the attacker keeps sending is read and dropped for a short linger at most.
    EXPECT_TRUE(result.hung_up) << result.end;
    EXPECT_LT((result.hung_up_after - result.close_after).count(), 8000);
    const long rss_after = env().gateway().resident_kib();
    EXPECT_LT(rss_after - rss_before, 4 * 1024)
        << "the gateway's RSS grew by " << rss_after - rss_before << " KiB";
    note("10 MiB frame: close " + std::to_string(result.close->close_code()) + " \"" +
         result.close->close_reason() + "\" " + std::to_string(result.close_after.count()) +
         " ms after the header (" + std::to_string(result.payload_before_close) +
         " payload bytes sent by then); the gateway hung up " +
         std::to_string(result.hung_up_after.count()) + " ms after the header (" + result.end +
         ") having drained " + std::to_string(result.payload_sent) +
         " payload bytes; gateway RSS " + std::to_string(rss_before) + " -> " +
         std::to_string(rss_after) + " KiB");

    EXPECT_EQ(too_big.wait_growth(1), 1);
}

struct slowloris_connection {
    std::unique_ptr<raw_socket> socket;
    std::size_t sent = 0;
    std::optional<std::chrono::milliseconds> cut_after;
};

constexpr int slowloris_connections = 5;

/// Opens slowloris_connections connections that each send a valid upgrade request one byte per
/// second, and records when the gateway cuts each one.
std::vector<slowloris_connection> slowloris(std::uint16_t port, const std::string& request) {
    std::vector<slowloris_connection> all(slowloris_connections);
    const auto start = clock_type::now();
    for (auto& c : all) {
        c.socket = std::make_unique<raw_socket>(port);
    }
    const auto cut = [](const slowloris_connection& c) {
        return c.socket->input_ended() || c.socket->write_failed();
    };
    const auto deadline = start + std::chrono::milliseconds(handshake_ms) + 10s;
    for (int second = 0; clock_type::now() < deadline; ++second) {
        for (auto& c : all) {
            if (!cut(c) && c.sent < request.size()) {
                c.sent += c.socket->send_some(std::string_view(request).substr(c.sent, 1));
            }
        }
        const auto next = start + std::chrono::seconds(second + 1);
        while (clock_type::now() < next) {
            for (auto& c : all) {
                if (!c.cut_after) {
                    c.socket->poll_input(10ms);
                    if (cut(c)) c.cut_after = since(start);
                }
            }
        }
        if (std::all_of(all.begin(), all.end(),
                        [](const auto& c) { return c.cut_after.has_value(); }))
            break;
    }
    return all;
}

TEST_F(security_test, slowloris_handshake_is_cut_after_handshake_ms) {
    const counter timeouts(errors_series("handshake", "timeout"));
    const auto port = env().gateway().public_port();
    const std::string request = upgrade_request(port, "/ws", bearer(token_for("slowpoke")));

    const auto connections = while_bystander_receives(
        "a slowloris handshake", [port, &request] { return slowloris(port, request); });

    for (std::size_t i = 0; i < connections.size(); ++i) {
        const auto& c = connections[i];
        SCOPED_TRACE("slowloris connection #" + std::to_string(i));
        ASSERT_TRUE(c.cut_after.has_value()) << "still open after " << c.sent << " bytes";
        EXPECT_GE(c.cut_after->count(), handshake_ms - 300);
        EXPECT_LE(c.cut_after->count(), handshake_ms + 4000);
        EXPECT_LT(c.sent, request.size());
        // Cut without an answer: an HTTP response would tell the attacker nothing useful.
        note("slowloris #" + std::to_string(i) + ": cut after " +
             std::to_string(c.cut_after->count()) + " ms, " + std::to_string(c.sent) + " of " +
             std::to_string(request.size()) + " request bytes sent, " +
             std::to_string(c.socket->received().size()) + " bytes answered (" +
             c.socket->end_description() + ")");
    }
    EXPECT_EQ(timeouts.wait_growth(slowloris_connections), slowloris_connections);
}

TEST_F(security_test, invalid_utf8_text_closes_1007) {
    const counter bad_utf8(closes_series("bad_utf8"));
    const std::vector<std::pair<std::string, std::string>> texts{
        {"bytes FF FE", "{\"type\":\"ping\",\"id\":\"\xff\xfe\"}"},
        {"overlong '/' C0 AF", "{\"type\":\"ping\",\"id\":\"\xc0\xaf\"}"},
        {"UTF-16 surrogate ED A0 80", "{\"type\":\"ping\",\"id\":\"\xed\xa0\x80\"}"},
        {"beyond U+10FFFF F4 90 80 80", "{\"type\":\"ping\",\"id\":\"\xf4\x90\x80\x80\"}"},
        {"truncated E2 82 at the end", "{\"type\":\"ping\",\"id\":1}\xe2\x82"},
    };
    for (const auto& [name, text] : texts) {
        SCOPED_TRACE(name);
        auto client = connect_user("mallory");
        client->send_text(text);
        const auto end = client->read_until_close();
        EXPECT_TRUE(end.close_frame) << end.error.message();
        EXPECT_EQ(end.code, 1007);
        EXPECT_TRUE(end.frames.empty()) << end.frames.size() << " frames before the close";
        note("invalid UTF-8 (" + name + "): close " + std::to_string(end.code));
    }

    // Split over two fragments: the first could still become valid, the second cannot.
    {
        const auto port = env().gateway().public_port();
        raw_socket socket(port);
        upgrade_and_welcome(socket, port, "mallory");
        socket.send_all(client_frame(opcode::text, "{\"type\":\"ping\",\"id\":\"\xc3", false) +
                        client_frame(opcode::continuation, "\x28\"}", true));
        std::optional<wire_frame> close;
        socket.receive_until(
            [&] {
                for (auto& f : take_frames(socket.received())) {
                    if (f.op == opcode::close) close = std::move(f);
                }
                return close.has_value();
            },
            10s);
        ASSERT_TRUE(close.has_value()) << socket.end_description();
        EXPECT_EQ(close->close_code(), 1007);
        note("invalid UTF-8 across fragments (C3 | 28): close " +
             std::to_string(close->close_code()));
    }  // closing the socket ends the gateway's linger at once

    EXPECT_EQ(bad_utf8.wait_growth(texts.size() + 1), static_cast<double>(texts.size() + 1));
}

}  // namespace
}  // namespace wsgate::test::security
