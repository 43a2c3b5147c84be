// Using too much: 5,000 frames per second from one client (limits.message_rate/message_burst:
// one `error` rate_limited, then close 1008), connections past limits.max_connections_per_ip
// (HTTP 429 too_many_connections), and a REST publisher past limits.publish_rate (HTTP 429
// rate_limited with Retry-After).

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "expectations.hpp"
#include "polling.hpp"
#include "raw_socket.hpp"
#include "security_env.hpp"
#include "test_io.hpp"

namespace wsgate::test::security {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr double flood_frames_per_second = 5000;
// The flood stops when the gateway closes the connection; this only bounds a gateway that never
// does (at 5,000/s the rate limits above close it after about 0.85 s).
constexpr auto flood_max_duration = 5s;

/// What a flooding client saw.
struct flood_result {
    std::uint64_t frames_sent = 0;
    std::chrono::milliseconds until_close{0};  ///< from the first frame to the close frame
    int pongs = 0;
    std::vector<json> errors;  ///< error frames received
    std::optional<wire_frame> close;
    std::string end;  ///< how the connection ended, seen from the client
};

/// Upgrades with a valid token, then sends `{"type":"ping","id":"NNNNNNN"}` text frames at
/// flood_frames_per_second (catching up in bursts when descheduled) while reading everything
/// the gateway answers, until its close frame arrives.
flood_result flood(std::uint16_t port) {
    raw_socket socket(port);
    const unsigned status = raw_upgrade(socket, port, "/ws", bearer(token_for("flooder")));
    if (status != 101) {
        throw io_failure("flood: upgrade answered " + std::to_string(status));
    }
    flood_result result;
    bool welcomed = false;
    const auto take = [&] {
        for (auto& frame : take_frames(socket.received())) {
            if (frame.op == opcode::close) {
                result.close = std::move(frame);
                continue;
            }
            const auto message = json::parse(frame.payload, nullptr, false);
            const std::string type = message.is_object() ? message.value("type", "") : "";
            if (type == "welcome") {
                welcomed = true;
            } else if (type == "pong") {
                ++result.pongs;
            } else {
                result.errors.push_back(message);
            }
        }
    };
    socket.receive_until(
        [&] {
            take();
            return welcomed;
        },
        10s);
    if (!welcomed) {
        throw io_failure("flood: no welcome (" + socket.end_description() + ")");
    }

    const std::uint64_t sent_before = socket.bytes_sent();
    std::size_t frame_size = 0;
    std::uint64_t frames_built = 0;
    std::string pending;
    const auto start = clock_type::now();
    while (!result.close && !socket.write_failed() &&
           clock_type::now() - start < flood_max_duration) {
        const std::chrono::duration<double> elapsed = clock_type::now() - start;
        const auto due = static_cast<std::uint64_t>(elapsed.count() * flood_frames_per_second) + 1;
        while (frames_built < due && pending.size() < 256 * 1024) {
            char id[24];
            std::snprintf(id, sizeof id, "%07llu", static_cast<unsigned long long>(frames_built));
            const std::string frame =
                client_frame(opcode::text, std::string(R"({"type":"ping","id":")") + id + "\"}");
            frame_size = frame.size();
            pending += frame;
            ++frames_built;
        }
        pending.erase(0, socket.send_some(pending));
        socket.poll_input(1ms);
        take();
    }
    if (!result.close) {
        socket.receive_until(
            [&] {
                take();
                return result.close.has_value();
            },
            5s);
    }
    result.until_close =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    result.frames_sent =  // every frame has the same size
        frame_size == 0 ? 0 : (socket.bytes_sent() - sent_before) / frame_size;
    if (result.close) {
        // Answer it, as a WebSocket client does: the gateway then ends the connection at once
        // instead of waiting timeouts.handshake_ms for the answer.
        socket.send_all(client_frame(opcode::close, result.close->payload.substr(0, 2)));
    }
    socket.wait_input_end(5s);
    result.end = socket.end_description();
    return result;
}

TEST_F(security_test, flood_of_5000_frames_per_second_is_cut_off) {
    const counter rate_limited(errors_series("ws", "rate_limited"));
    const counter rate_closes(closes_series("rate_limit"));
    const auto port = env().gateway().public_port();

    const auto result =
        while_bystander_receives("a 5,000 frames/s flood", [port] { return flood(port); });

    const double seconds = static_cast<double>(result.until_close.count()) / 1000.0;
    char line[256];
    std::snprintf(line, sizeof line,
                  "flood: %llu frames in %.2f s (%.0f/s), %d pongs, %zu error frame(s) %s, then "
                  "close %d \"%s\"; connection end: %s",
                  static_cast<unsigned long long>(result.frames_sent), seconds,
                  seconds > 0 ? static_cast<double>(result.frames_sent) / seconds : 0.0,
                  result.pongs, result.errors.size(),
                  result.errors.empty() ? "" : result.errors.front().dump().c_str(),
                  result.close ? result.close->close_code() : -1,
                  result.close ? result.close->close_reason().c_str() : "", result.end.c_str());
    note(line);

    ASSERT_TRUE(result.close.has_value()) << "no close frame; the connection ended: " << result.end;
    EXPECT_EQ(result.close->close_code(), 1008);
    EXPECT_EQ(result.close->close_reason(), "rate limit exceeded");
    // One error per episode of refusals, not one per refused frame: a flood is not echoed.
    ASSERT_EQ(result.errors.size(), 1u);
    for (const auto& error : result.errors) {
        EXPECT_EQ(error.value("type", ""), "error") << error.dump();
        EXPECT_EQ(error.value("code", ""), "rate_limited") << error.dump();
    }
    // The burst is served (a pong each), then message_burst refusals in a row close it.
    EXPECT_GE(result.pongs, message_burst);
    EXPECT_GE(result.frames_sent, static_cast<std::uint64_t>(result.pongs + message_burst));

    EXPECT_GE(rate_limited.wait_growth(message_burst), message_burst);
    EXPECT_EQ(rate_closes.wait_growth(1), 1);
}

TEST_F(security_test, connections_past_the_per_ip_limit_are_refused) {
    const counter refused(errors_series("handshake", "too_many_connections"));
    const auto port = env().gateway().public_port();
    const std::string attacker_address = "127.0.0.2";  // everyone else comes from 127.0.0.1
    const auto attacker = [&](header_list extra = {}) {
        auto client = std::make_unique<ws_client>(10s);
        client->set_local_address(attacker_address);
        extra.emplace_back("Authorization", "Bearer " + token_for("mallory"));
        client->set_handshake_headers(extra);
        return client;
    };
    const auto expect_refused = [](const handshake_result& res, const std::string& what) {
        EXPECT_FALSE(res.upgraded) << what;
        EXPECT_EQ(res.status, 429u) << what << ": " << res.body;
        const auto body = json::parse(res.body, nullptr, false);
        EXPECT_EQ(body.is_object() ? body["error"].value("code", "") : "", "too_many_connections")
            << what << ": " << res.body;
        note(what + ": HTTP " + std::to_string(res.status) + " " + res.body);
    };

    std::vector<std::unique_ptr<ws_client>> held;
    for (int i = 0; i < max_connections_per_ip; ++i) {
        held.push_back(attacker());
        held.back()->connect(port);
    }
    expect_refused(
        attacker()->try_connect(port),
        "connection " + std::to_string(max_connections_per_ip + 1) + " from " + attacker_address);
    // X-Forwarded-For is believed only from server.trusted_proxies (none here).
    expect_refused(attacker({{"X-Forwarded-For", "198.51.100.7"}})->try_connect(port),
                   "the same with X-Forwarded-For: 198.51.100.7");
    EXPECT_EQ(refused.wait_growth(2), 2);

    // Other addresses are not affected, nor are the connections within the limit.
    auto other = connect_user("alice");
    EXPECT_TRUE(other->ping());
    EXPECT_TRUE(held.front()->ping());

    // A slot freed by a close can be taken again.
    held.back()->close();
    held.pop_back();
    std::unique_ptr<ws_client> again;
    EXPECT_TRUE(wait_until(
        [&] {
            again = attacker();
            return again->try_connect(port).upgraded;
        },
        10s, 50ms))
        << "the closed connection's slot was not freed";
    EXPECT_EQ(again->read_json().value("type", ""), "welcome");
}

TEST_F(security_test, publisher_past_its_rate_gets_429_with_retry_after) {
    const counter limited(errors_series("rest", "rate_limited"));
    const counter published("wsgate_events_published_total");
    auto& attacker = env().attacker_api();

    // A batch may start on one token and owes the rest: 200 events leave the key 150 in debt,
    // three seconds at 50/s.
    json batch = json::array();
    for (int i = 0; i < 200; ++i) {
        batch.push_back(channel_event("sink", "spam", i));
    }
    const auto first = attacker.publish_batch(batch);
    ASSERT_EQ(first.status, 202u) << first.body;

    for (int i = 0; i < 2; ++i) {
        const auto res = attacker.publish(channel_event("sink", "spam", "more"));
        expect_rest_error(res, 429, "rate_limited");
        const std::string retry_after = res.header("Retry-After");
        ASSERT_FALSE(retry_after.empty()) << "no Retry-After header";
        const int seconds = std::stoi(retry_after);
        EXPECT_GE(seconds, 1);
        EXPECT_LE(seconds, 4);
        note("publisher past its rate: HTTP " + std::to_string(res.status) +
             ", Retry-After: " + retry_after + ", " + res.body);
    }

    // Another key has its own budget: the bystander's publisher is not held back.
    expect_bystander_receives();
    EXPECT_EQ(limited.wait_growth(2), 2);
    EXPECT_EQ(published.growth(), 201);
}

}  // namespace
}  // namespace wsgate::test::security
