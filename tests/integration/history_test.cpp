// Channel history through the real binary, on both engines (the embedded one, and a real
// redis-server on loopback): offsets in every answer and event, recovery after a reconnect (and
// past the history window), epoch changes, history requests, and idempotent retries. Every
// event is accounted for: delivered once, recovered, or reported as not recoverable.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "jwt_mint.hpp"
#include "prometheus_text.hpp"
#include "raw_socket.hpp"
#include "polling.hpp"
#include "redis_process.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Each test runs on the embedded engine and on Redis.
class history : public ::testing::TestWithParam<std::string> {
protected:
    bool on_redis() const { return GetParam() == "redis"; }
    void SetUp() override {
        if (on_redis()) redis = std::make_unique<redis_process>();
    }
    // room:* keeps `size` events for a minute; everything else is open and keeps none.
    std::vector<std::string> history_flags(int size) const {
        std::vector<std::string> flags{
            "--channels",
            R"([{"pattern":"room:*","subscribe":"anyone","publish":"anyone",)"
            R"("history":{"size":)" + std::to_string(size) + R"(,"ttl_ms":60000}},)"
            R"({"pattern":"*","subscribe":"anyone"}])"};
        if (redis) flags.insert(flags.end(), {"--redis.url", redis->url()});
        return flags;
    }
    // As history_flags(100), with HS256 tokens and `user_size` events kept per user.
    std::vector<std::string> user_flags(int user_size) const {
        auto flags = history_flags(100);
        flags.insert(flags.end(), {"--history.user_size", std::to_string(user_size),
                                   "--auth.jwt.algorithm=HS256", "--auth.jwt.secret=" + secret});
        return flags;
    }
    static std::string token_for(const std::string& user) {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        return mint_hs256(secret, {{"sub", user},
                                   {"exp", std::chrono::duration_cast<std::chrono::seconds>(now)
                                                   .count() + 600}});
    }
    static inline const std::string secret = "an HS256 secret of at least 32 bytes!";
    std::unique_ptr<redis_process> redis;
};

INSTANTIATE_TEST_SUITE_P(engines, history, ::testing::Values("embedded", "redis"),
                         [](const auto& p) { return p.param; });

double metric(const gateway_process& gw, const std::string& series) {
    return find_series(http_client(gw.api_port()).get("/metrics").body, series).value_or(0);
}

// Publishes `n` events numbered from `first` to `channel`; returns their answers.
std::vector<json> publish_numbered(const http_client& api, const std::string& channel, int first,
                                   int n) {
    std::vector<json> answers;
    for (int i = first; i < first + n; ++i) {
        const auto res = api.publish(channel_event(channel, "n", i));
        EXPECT_EQ(res.status, 202u) << res.body;
        answers.push_back(res.json);
    }
    return answers;
}

// Subscribes with `recover` (or without when null) and returns the ack.
json subscribe(ws_client& c, const std::string& channel, const json& recover = nullptr) {
    json req = {{"type", "subscribe"}, {"channel", channel}};
    if (!recover.is_null()) req["recover"] = recover;
    auto ack = c.request(req);
    EXPECT_EQ(ack["type"], "ack") << ack;
    return ack;
}

// Whether a new connection subscribing to room:1 with `recover` at `offset` of `epoch` is
// recovered; then checks the events that follow, up to `top`.
bool recovers(const gateway_process& gw, const json& epoch, int offset, int top) {
    ws_client c;
    c.connect(gw.public_port());
    const auto ack = subscribe(c, "room:1", {{"epoch", epoch}, {"offset", offset}});
    const bool recovered = ack["recovered"] == true;
    if (recovered) {
        for (int i = offset + 1; i <= top; ++i) EXPECT_EQ(c.read_json()["offset"], i);
    }
    return recovered;
}

TEST_P(history, offsets_count_per_channel_in_answers_acks_and_events) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    ws_client c;
    c.connect(gw.public_port());
    const auto ack = subscribe(c, "room:1");
    EXPECT_EQ(ack["offset"], 0) << "a channel without events is at offset 0";
    EXPECT_EQ(ack["epoch"], "");
    const auto answers = publish_numbered(api, "room:1", 1, 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(answers[i]["offset"], i + 1);
        const auto e = c.read_json();
        EXPECT_EQ(e["offset"], i + 1);
        EXPECT_EQ(e["data"], i + 1);
        EXPECT_EQ(e["id"], answers[i]["id"]);
    }
    EXPECT_EQ(answers[0]["epoch"], answers[2]["epoch"]);
    EXPECT_EQ(answers[0]["epoch"].get<std::string>().size(), 8u);
    // A second channel counts on its own; a channel without history has no offsets at all.
    EXPECT_EQ(api.publish(channel_event("room:2", "n")).json["offset"], 1);
    ws_client plain;
    plain.connect(gw.public_port());
    const auto plain_ack = subscribe(plain, "news");
    EXPECT_FALSE(plain_ack.contains("offset")) << plain_ack;
    const auto res = api.publish(channel_event("news", "n"));
    EXPECT_FALSE(res.json.contains("offset")) << res.body;
    EXPECT_FALSE(plain.read_json().contains("offset"));
    // A client's publish is acknowledged with the event's place.
    const auto own = c.request({{"type", "publish"}, {"channel", "room:1"}, {"event", "say"}});
    EXPECT_EQ(own["offset"], 4) << own;
    EXPECT_EQ(own["epoch"], answers[0]["epoch"]);
}

TEST_P(history, a_client_that_reconnects_recovers_what_it_missed_then_continues_live) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    json position;
    {
        ws_client first;
        first.connect(gw.public_port());
        const auto ack = subscribe(first, "room:1");
        publish_numbered(api, "room:1", 1, 3);
        std::uint64_t last = 0;
        for (int i = 0; i < 3; ++i) last = first.read_json()["offset"].get<std::uint64_t>();
        api.publish(channel_event("room:other", "x"));  // another channel counts on its own
        position = {{"epoch", "?"}, {"offset", last}};
        first.close();
    }
    // The epoch is the one the events were published in (the ack of an empty channel had "").
    const auto missed = publish_numbered(api, "room:1", 4, 5);
    position["epoch"] = missed[0]["epoch"];
    ws_client again;
    again.connect(gw.public_port());
    const auto ack = subscribe(again, "room:1", position);
    EXPECT_EQ(ack["recovered"], true) << ack;
    EXPECT_EQ(ack["offset"], 8);
    EXPECT_EQ(ack["epoch"], position["epoch"]);
    for (int i = 4; i <= 8; ++i) {
        const auto e = again.read_json();
        EXPECT_EQ(e["offset"], i);
        EXPECT_EQ(e["data"], i);
        EXPECT_EQ(e["id"], missed[i - 4]["id"]);
    }
    publish_numbered(api, "room:1", 9, 1);
    EXPECT_EQ(again.read_json()["offset"], 9) << "live after the replay, nothing twice";
    expect_marker_next(api, {&again});
    EXPECT_EQ(metric(gw, R"(wsgate_recoveries_total{result="recovered"})"), 1);
    EXPECT_EQ(metric(gw, "wsgate_history_replayed_total"), 5);
}

TEST_P(history, a_client_that_saw_an_empty_channel_recovers_from_its_first_event) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    publish_numbered(api, "room:1", 1, 2);
    ws_client c;
    c.connect(gw.public_port());
    const auto ack = subscribe(c, "room:1", {{"epoch", ""}, {"offset", 0}});
    EXPECT_EQ(ack["recovered"], true) << ack;
    EXPECT_EQ(c.read_json()["offset"], 1);
    EXPECT_EQ(c.read_json()["offset"], 2);
}

TEST_P(history, missing_more_than_the_history_keeps_is_reported_not_recovered) {
    gateway_process gw(history_flags(5));
    http_client api(gw.api_port());
    const auto first = publish_numbered(api, "room:1", 1, 2);
    publish_numbered(api, "room:1", 3, 8);  // 1..10: offsets 6..10 are kept, 3 is gone
    ws_client c;
    c.connect(gw.public_port());
    const auto ack = subscribe(c, "room:1", {{"epoch", first[0]["epoch"]}, {"offset", 2}});
    EXPECT_EQ(ack["recovered"], false) << ack;
    EXPECT_EQ(ack["offset"], 10) << "the current position, to reload from";
    publish_numbered(api, "room:1", 11, 1);
    EXPECT_EQ(c.read_json()["offset"], 11) << "nothing replayed, live goes on";
    EXPECT_EQ(metric(gw, R"(wsgate_recoveries_total{result="not_recovered"})"), 1);
    EXPECT_TRUE(recovers(gw, first[0]["epoch"], 6, 11)) << "within the window it still does";
}

TEST_P(history, more_missed_than_max_replay_is_not_recovered) {
    auto flags = history_flags(100);
    flags.insert(flags.end(), {"--history.max_replay", "3"});
    gateway_process gw(flags);
    http_client api(gw.api_port());
    const auto first = publish_numbered(api, "room:1", 1, 6);
    EXPECT_FALSE(recovers(gw, first[0]["epoch"], 2, 6)) << "four missed, three at most";
    EXPECT_TRUE(recovers(gw, first[0]["epoch"], 3, 6));
}

TEST_P(history, a_lost_history_changes_the_epoch_and_recovery_says_so) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    const auto before = publish_numbered(api, "room:1", 1, 3);
    EXPECT_EQ(api.request("DELETE", "/api/v1/history?channel=room:1").status, 204u);
    const auto after = publish_numbered(api, "room:1", 4, 1);
    EXPECT_EQ(after[0]["offset"], 1) << "a new epoch starts at 1";
    EXPECT_NE(after[0]["epoch"], before[0]["epoch"]);
    ws_client c;
    c.connect(gw.public_port());
    const auto ack = subscribe(c, "room:1", {{"epoch", before[0]["epoch"]}, {"offset", 2}});
    EXPECT_EQ(ack["recovered"], false);
    EXPECT_EQ(ack["epoch"], after[0]["epoch"]);
    EXPECT_EQ(ack["offset"], 1);
    // A restarted gateway: the embedded engine's history was in its memory, and is gone; in
    // Redis it outlives the gateway, and is gone once Redis restarts without persistence.
    std::optional<gateway_process> restarted(std::in_place, history_flags(100));
    const json position = {{"epoch", after[0]["epoch"]}, {"offset", 0}};
    const auto recover_on = [&](const gateway_process& g) {
        ws_client r;
        r.connect(g.public_port());
        const auto answer = subscribe(r, "room:1", position);
        if (answer["recovered"] == true) {
            EXPECT_EQ(r.read_json()["data"], 4);
        }
        return answer;
    };
    auto ack2 = recover_on(*restarted);
    EXPECT_EQ(ack2["recovered"], on_redis()) << ack2;
    EXPECT_EQ(ack2["epoch"], on_redis() ? after[0]["epoch"] : json("")) << ack2;
    if (!on_redis()) return;
    redis->stop();
    redis->start();
    restarted.reset();  // its links come back on their own; a fresh one needs no waiting
    restarted.emplace(history_flags(100));
    ack2 = recover_on(*restarted);
    EXPECT_EQ(ack2["recovered"], false) << ack2;
    EXPECT_EQ(ack2["epoch"], "");
}

// The merge of history and live events: a client reconnects again and again while events are
// published as fast as the API takes them. Across its connections it must see every offset
// exactly once, in order, with every recovery answered recovered:true.
// Reconnects for 3 s while two publishers publish `event`s to one stream as fast as they can,
// each time joining with `rejoin(client, epoch, last offset seen)`, which returns the answer (ack or
// welcome) naming the stream's position; every event arrives once, in order, with no gap.
void expect_recovery_under_flow(const gateway_process& gw, const std::function<json()>& event,
                                const std::function<json(ws_client&, const std::string&,
                                                         std::uint64_t)>& rejoin) {
    http_client api(gw.api_port());
    const auto first = api.publish(event()).json;
    ASSERT_EQ(first["offset"], 1) << first;
    const std::string epoch = first["epoch"];
    std::atomic<bool> stop{false};
    std::atomic<int> published{1};
    auto publish = [&] {
        http_client p(gw.api_port());
        while (!stop) {
            json batch = json::array();
            for (int i = 0; i < 20; ++i) batch.push_back(event());
            if (p.publish_batch(batch).status == 202) published += 20;
            std::this_thread::sleep_for(2ms);
        }
    };
    std::thread publisher(publish), second_publisher(publish);
    // Stopped and joined however the test ends (an ASSERT returns early).
    struct joiner {
        std::atomic<bool>& stop;
        std::thread& a;
        std::thread& b;
        ~joiner() {
            stop = true;
            if (a.joinable()) a.join();
            if (b.joinable()) b.join();
        }
    } join_publishers{stop, publisher, second_publisher};
    std::uint64_t last = 1;  // the client has seen offset 1 (published before it came)
    std::map<std::uint64_t, int> seen;
    int reconnects = 0;
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until) {
        ws_client c;
        const auto answer = rejoin(c, epoch, last);
        ASSERT_EQ(answer["recovered"], true) << answer;
        const auto top = answer["offset"].get<std::uint64_t>();
        // Read past the answer's position a little, then drop the connection mid-stream.
        while (last < top + 3) {
            const auto e = c.read_json();
            ASSERT_EQ(e["type"], "event") << e;
            const auto offset = e["offset"].get<std::uint64_t>();
            ASSERT_EQ(offset, last + 1) << "a gap or a duplicate after " << last;
            ++seen[offset];
            last = offset;
        }
        ++reconnects;
    }
    stop = true;
    publisher.join();
    second_publisher.join();
    EXPECT_GE(reconnects, 20);
    EXPECT_EQ(seen.size(), last - 1);
    for (const auto& [offset, times] : seen) ASSERT_EQ(times, 1) << offset;
    // The rest is recoverable too: one last recovery reads up to what was published.
    ws_client c;
    const auto answer = rejoin(c, epoch, last);
    EXPECT_EQ(answer["recovered"], true);
    EXPECT_EQ(answer["offset"].get<int>(), published.load());
    for (auto o = last + 1; o <= answer["offset"].get<std::uint64_t>(); ++o)
        ASSERT_EQ(c.read_json()["offset"], o);
}

TEST_P(history, recovering_while_events_flow_loses_and_duplicates_nothing) {
    // A recovery misses what was published while the client reconnected: far less than these
    // bounds at the publishers' pace (about 10,000 events/s), even on a loaded machine.
    auto flags = history_flags(100000);
    flags.insert(flags.end(), {"--history.max_replay", "100000"});
    gateway_process gw(flags);
    expect_recovery_under_flow(
        gw, [] { return channel_event("room:1", "n"); },
        [&gw](ws_client& c, const std::string& epoch, std::uint64_t last) {
            c.connect(gw.public_port());
            return subscribe(c, "room:1", {{"epoch", epoch}, {"offset", last}});
        });
}

// Subscribe and unsubscribe in one read: the unsubscribe comes while the history is read. The
// subscribe is still answered, but nothing of the channel follows.
TEST_P(history, an_unsubscribe_while_the_history_is_read_stops_the_replay) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    const auto first = publish_numbered(api, "room:1", 1, 3);
    raw_socket s(gw.public_port());
    ASSERT_EQ(raw_upgrade(s, gw.public_port()), 101u);
    const json recover = {{"epoch", first[0]["epoch"]}, {"offset", 0}};
    ASSERT_TRUE(s.send_all(
        client_frame(opcode::text, json{{"type", "subscribe"}, {"channel", "room:1"},
                                        {"recover", recover}, {"id", 1}}.dump()) +
        client_frame(opcode::text,
                     json{{"type", "unsubscribe"}, {"channel", "room:1"}, {"id", 2}}.dump()) +
        client_frame(opcode::text, json{{"type", "ping"}, {"id", 3}}.dump())));
    std::vector<json> got;
    auto seen = [&](const char* type, int id) {
        for (auto& f : take_frames(s.received()))
            if (f.op == opcode::text) got.push_back(json::parse(f.payload));
        return std::any_of(got.begin(), got.end(),
                           [&](const json& g) { return g["type"] == type && g["id"] == id; });
    };
    ASSERT_TRUE(s.receive_until([&] { return seen("ack", 1) && seen("pong", 3); }, 5s));
    // A replay would follow the subscribe's ack at once; a live event after this publish.
    publish_numbered(api, "room:1", 4, 1);
    ASSERT_TRUE(s.send_all(client_frame(opcode::text, json{{"type", "ping"}, {"id", 4}}.dump())));
    ASSERT_TRUE(s.receive_until([&] { return seen("pong", 4); }, 5s));
    const auto events = std::count_if(got.begin(), got.end(),
                                      [](const json& g) { return g["type"] == "event"; });
    EXPECT_EQ(events, 0) << json(got).dump();
}

TEST_P(history, clients_and_backends_read_history_and_channels_without_it_say_so) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    const auto answers = publish_numbered(api, "room:1", 1, 4);
    const std::string epoch = answers[0]["epoch"];
    ws_client c;
    c.connect(gw.public_port());
    auto h = c.request({{"type", "history"}, {"channel", "room:1"}, {"limit", 2},
                        {"since", {{"epoch", epoch}, {"offset", 1}}}});
    EXPECT_EQ(h["type"], "history") << h;
    EXPECT_EQ(h["complete"], true);
    EXPECT_EQ(h["offset"], 4);
    ASSERT_EQ(h["events"].size(), 2u);
    EXPECT_EQ(h["events"][0]["offset"], 2);
    EXPECT_EQ(h["events"][0]["data"], 2);
    EXPECT_EQ(h["events"][1]["id"], answers[2]["id"]);
    h = c.request({{"type", "history"}, {"channel", "room:1"}});
    EXPECT_EQ(h["events"].size(), 4u) << "without since: all that is kept";
    h = c.request({{"type", "history"}, {"channel", "room:1"},
                   {"since", {{"epoch", "other"}, {"offset", 1}}}});
    EXPECT_EQ(h["complete"], false);
    EXPECT_TRUE(h["events"].empty());
    auto err = c.request({{"type", "history"}, {"channel", "news"}});
    EXPECT_EQ(err["code"], "invalid_channel") << err;
    err = c.request({{"type", "subscribe"}, {"channel", "room:1"}, {"recover", {{"offset", 1}}}});
    EXPECT_EQ(err["code"], "invalid_field") << err;

    auto res = api.get("/api/v1/history?channel=room:1&since=2&epoch=" + epoch);
    EXPECT_EQ(res.status, 200u) << res.body;
    EXPECT_EQ(res.json["offset"], 4);
    ASSERT_EQ(res.json["events"].size(), 2u);
    EXPECT_EQ(res.json["events"][0]["offset"], 3);
    EXPECT_EQ(res.json["events"][1]["data"], 4);
    expect_rest_error(api.get("/api/v1/history?channel=news"), 404, "no_history");
    expect_rest_error(api.get("/api/v1/history?channel=room:1&since=x"), 400, "invalid_query");
    expect_rest_error(api.get("/api/v1/history?channel=room:1&limit=5000"), 400, "invalid_query");
    expect_rest_error(api.get("/api/v1/history?channel=room:1&nope=1"), 400, "invalid_query");
    expect_rest_error(api.get("/api/v1/history?channel="), 400, "invalid_channel");
    expect_rest_error(api.request("PUT", "/api/v1/history?channel=room:1"), 405,
                      "method_not_allowed");
}

TEST_P(history, a_retried_publish_with_its_idempotency_key_is_published_once) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    ws_client c;
    c.connect(gw.public_port());
    subscribe(c, "room:1");
    auto body = channel_event("room:1", "order", 1);
    body["idempotency_key"] = "order-1";
    const auto first = api.publish(body);
    const auto retry = api.publish(body);
    ASSERT_EQ(first.status, 202u);
    ASSERT_EQ(retry.status, 202u);
    EXPECT_EQ(retry.json["id"], first.json["id"]);
    EXPECT_EQ(retry.json["offset"], first.json["offset"]);
    EXPECT_EQ(retry.json["duplicate"], true);
    EXPECT_FALSE(first.json.contains("duplicate"));
    // The header works the same, and a key does not need history.
    const header_list key = {{"Idempotency-Key", "news-7"}};
    const auto plain = api.post_json("/api/v1/publish", channel_event("news", "x").dump(), key);
    const auto plain_retry =
        api.post_json("/api/v1/publish", channel_event("news", "x").dump(), key);
    EXPECT_EQ(plain_retry.json["id"], plain.json["id"]);
    EXPECT_EQ(plain_retry.json["duplicate"], true);
    EXPECT_EQ(c.read_json()["data"], 1);
    expect_marker_next(api, {&c});
    EXPECT_EQ(metric(gw, "wsgate_idempotent_duplicates_total"), 2);
    EXPECT_EQ(metric(gw, "wsgate_events_published_total"), 3) << "two, and the marker";
    auto bad = body;
    bad["idempotency_key"] = "";
    expect_rest_error(api.publish(bad), 400, "invalid_body");
    expect_rest_error(api.post_json("/api/v1/publish", body.dump(), {{"Idempotency-Key", "x"}}),
                      400, "invalid_body");
}

TEST_P(history, a_retried_batch_publishes_only_what_it_had_not) {
    gateway_process gw(history_flags(100));
    http_client api(gw.api_port());
    ws_client c;
    c.connect(gw.public_port());
    subscribe(c, "room:1");
    const header_list key = {{"Idempotency-Key", "batch-1"}};
    json batch = json::array({channel_event("room:1", "n", 1), channel_event("room:1", "n", 2)});
    const auto first = api.post_json("/api/v1/publish/batch", batch.dump(), key);
    ASSERT_EQ(first.status, 202u) << first.body;
    EXPECT_EQ(first.json["events"][1]["offset"], 2);
    batch.push_back(channel_event("room:1", "n", 3));  // the retry carries one more
    const auto retry = api.post_json("/api/v1/publish/batch", batch.dump(), key);
    ASSERT_EQ(retry.status, 202u) << retry.body;
    EXPECT_EQ(retry.json["ids"][0], first.json["ids"][0]);
    EXPECT_EQ(retry.json["ids"][1], first.json["ids"][1]);
    EXPECT_EQ(retry.json["events"][0]["duplicate"], true);
    EXPECT_EQ(retry.json["events"][1]["duplicate"], true);
    EXPECT_FALSE(retry.json["events"][2].contains("duplicate"));
    EXPECT_EQ(retry.json["events"][2]["offset"], 3);
    for (int i = 1; i <= 3; ++i) EXPECT_EQ(c.read_json()["data"], i);
    expect_marker_next(api, {&c});
}

// Connects with `token` (in the query), recovering the user's stream from `recover`
// when set; returns the welcome.
json connect_as(ws_client& c, const gateway_process& gw, const std::string& token,
                const std::optional<std::pair<std::string, std::uint64_t>>& recover = {}) {
    std::string path = "/ws?token=" + token;
    if (recover)
        path += "&recover_epoch=" + recover->first +
                "&recover_offset=" + std::to_string(recover->second);
    const auto welcome = c.connect(gw.public_port(), path);
    EXPECT_EQ(welcome["type"], "welcome") << welcome;
    return welcome;
}

TEST_P(history, a_user_who_reconnects_recovers_their_events_then_continues_live) {
    gateway_process gw(user_flags(100));
    http_client api(gw.api_port());
    ws_client bob;
    connect_as(bob, gw, token_for("bob"));
    std::vector<json> answers;
    std::pair<std::string, std::uint64_t> seen;
    {
        ws_client alice;
        const auto welcome = connect_as(alice, gw, token_for("alice"));
        EXPECT_EQ(welcome["offset"], 0) << "the stream's position, to start from: " << welcome;
        EXPECT_FALSE(welcome.contains("recovered")) << welcome;
        for (int i = 1; i <= 3; ++i) answers.push_back(api.publish(user_event("alice", "n", i)).json);
        for (int i = 1; i <= 3; ++i) {
            const auto e = alice.read_json();
            EXPECT_EQ(e["offset"], i) << e;
            EXPECT_EQ(e["epoch"], answers[0]["epoch"]) << e;
            EXPECT_FALSE(e.contains("channel")) << e;
            seen = {e["epoch"], e["offset"]};
        }
        EXPECT_EQ(answers[2]["offset"], 3) << answers[2];
        EXPECT_EQ(answers[0]["epoch"].get<std::string>().size(), 8u);
    }
    for (int i = 4; i <= 6; ++i) answers.push_back(api.publish(user_event("alice", "n", i)).json);
    ws_client again, second_tab;
    const auto welcome = connect_as(again, gw, token_for("alice"), seen);
    EXPECT_EQ(welcome["recovered"], true) << welcome;
    EXPECT_EQ(welcome["offset"], 6) << welcome;
    for (int i = 4; i <= 6; ++i) {
        const auto e = again.read_json();
        EXPECT_EQ(e["offset"], i) << e;
        EXPECT_EQ(e["data"], i) << e;
        EXPECT_EQ(e["id"], answers[i - 1]["id"]) << e;
    }
    EXPECT_EQ(connect_as(second_tab, gw, token_for("alice"))["offset"], 6);
    api.publish(user_event("alice", "n", 7));
    EXPECT_EQ(again.read_json()["offset"], 7) << "live after the replay, nothing twice";
    EXPECT_EQ(second_tab.read_json()["offset"], 7);
    // A connection that becomes the user with `auth` recovers there: the ack says so.
    ws_client late;
    late.connect(gw.public_port());
    const auto ack = late.request({{"type", "auth"},
                                   {"token", token_for("alice")},
                                   {"recover", {{"epoch", seen.first}, {"offset", 5}}}});
    EXPECT_EQ(ack["type"], "ack") << ack;
    EXPECT_EQ(ack["recovered"], true) << ack;
    EXPECT_EQ(ack["offset"], 7) << ack;
    EXPECT_EQ(late.read_json()["offset"], 6);
    EXPECT_EQ(late.read_json()["offset"], 7);
    // A client that saw its stream empty (epoch "", offset 0) recovers from its first event.
    const auto empty = bob.welcome();
    EXPECT_EQ(empty["epoch"], "") << empty;
    bob.close();
    api.publish(user_event("bob", "n", 1));
    ws_client bob_again;
    EXPECT_EQ(connect_as(bob_again, gw, token_for("bob"), std::pair{"", 0})["recovered"], true);
    EXPECT_EQ(bob_again.read_json()["data"], 1);
    expect_marker_next(api, {&again, &second_tab, &bob_again, &late});
    EXPECT_EQ(metric(gw, R"(wsgate_recoveries_total{result="recovered"})"), 3);
    EXPECT_EQ(metric(gw, "wsgate_history_replayed_total"), 6);
}

// The defect this guards against: a position given after the user's live events had started
// to flow to the connection replayed them again, out of order. The position is given at
// connect, and the stream is held from before its topic is in force.
TEST_P(history, a_user_reconnecting_while_their_events_flow_gets_each_once_in_order) {
    auto flags = user_flags(100000);
    flags.insert(flags.end(), {"--history.max_replay", "100000"});
    gateway_process gw(flags);
    expect_recovery_under_flow(
        gw, [] { return user_event("alice", "n"); },
        [&gw, token = token_for("alice")](ws_client& c, const std::string& epoch,
                                          std::uint64_t last) {
            return connect_as(c, gw, token, std::pair{epoch, last});
        });
}

TEST_P(history, a_user_stream_past_its_window_is_not_recovered_and_others_have_none) {
    gateway_process gw(user_flags(3));
    http_client api(gw.api_port());
    std::string epoch;
    for (int i = 1; i <= 6; ++i) epoch = api.publish(user_event("alice", "n", i)).json["epoch"];
    {
        ws_client alice;
        const auto welcome = connect_as(alice, gw, token_for("alice"), std::pair{epoch, 1});
        EXPECT_EQ(welcome["recovered"], false) << "4..6 are kept, 2 is gone: " << welcome;
        EXPECT_EQ(welcome["offset"], 6) << welcome;
        expect_marker_next(api, {&alice});
    }
    ws_client alice, other_epoch, anonymous;
    EXPECT_EQ(connect_as(alice, gw, token_for("alice"), std::pair{epoch, 4})["recovered"], true);
    EXPECT_EQ(alice.read_json()["offset"], 5);
    EXPECT_EQ(alice.read_json()["offset"], 6);
    EXPECT_EQ(connect_as(other_epoch, gw, token_for("alice"), std::pair{"other", 6})["recovered"],
              false);
    anonymous.connect(gw.public_port());
    const auto bad = anonymous.request({{"type", "auth"},
                                        {"token", token_for("alice")},
                                        {"recover", 3}});
    EXPECT_EQ(bad["code"], "invalid_field") << bad;
    for (const char* query : {"&recover_epoch=abc", "&recover_offset=3",
                              "&recover_epoch=abc&recover_offset=-1",
                              "&recover_epoch=abc&recover_offset=3x"}) {
        ws_client refused;
        const auto result = refused.try_connect(
            gw.public_port(), "/ws?token=" + token_for("alice") + query);
        EXPECT_FALSE(result.upgraded) << query;
        EXPECT_EQ(result.status, 400u) << query;
        EXPECT_EQ(json::parse(result.body, nullptr, false)["error"]["code"], "invalid_recover")
            << result.body;
    }
    // Connections and broadcasts keep no history: no offsets.
    const auto to_all = api.publish(broadcast_event("n"));
    EXPECT_FALSE(to_all.json.contains("offset")) << to_all.body;
    const auto frame = alice.read_json();
    EXPECT_EQ(frame["event"], "n");
    EXPECT_FALSE(frame.contains("offset")) << frame;

    gateway_process off(user_flags(0));
    ws_client carol;
    const auto welcome = connect_as(carol, off, token_for("carol"), std::pair{epoch, 1});
    EXPECT_FALSE(welcome.contains("offset")) << "no user history, no position: " << welcome;
    EXPECT_FALSE(welcome.contains("recovered")) << welcome;
    const auto plain = http_client(off.api_port()).publish(user_event("carol", "n"));
    EXPECT_FALSE(plain.json.contains("offset")) << plain.body;
    EXPECT_FALSE(carol.read_json().contains("offset"));
}

// Two instances on one Redis: a retry that reaches the other instance is still a duplicate,
// and history appended through either is one stream, in one order.
TEST(history_redis, two_instances_share_one_stream_and_one_set_of_keys) {
    redis_process redis;
    const std::vector<std::string> flags{
        "--redis.url", redis.url(), "--channels",
        R"([{"pattern":"*","subscribe":"anyone","history":{"size":100,"ttl_ms":60000}}])"};
    gateway_process a(flags), b(flags);
    http_client api_a(a.api_port()), api_b(b.api_port());
    ws_client on_b;
    on_b.connect(b.public_port());
    const auto ack = on_b.request({{"type", "subscribe"}, {"channel", "room"}});
    ASSERT_EQ(ack["type"], "ack") << ack;
    auto body = channel_event("room", "n", 1);
    body["idempotency_key"] = "k1";
    const auto first = api_a.publish(body);
    const auto retry = api_b.publish(body);
    ASSERT_EQ(first.status, 202u) << first.body;
    EXPECT_EQ(retry.json["duplicate"], true) << retry.body;
    EXPECT_EQ(retry.json["id"], first.json["id"]);
    EXPECT_EQ(api_b.publish(channel_event("room", "n", 2)).json["offset"], 2);
    EXPECT_EQ(api_a.publish(channel_event("room", "n", 3)).json["offset"], 3);
    for (int i = 1; i <= 3; ++i) {
        const auto e = on_b.read_json();
        EXPECT_EQ(e["offset"], i) << e;
        EXPECT_EQ(e["data"], i) << e;
    }
    // The same key for another target is another publication.
    auto other = channel_event("hall", "n", 1);
    other["idempotency_key"] = "k1";
    EXPECT_FALSE(api_a.publish(other).json.contains("duplicate"));
    // The stream is in Redis, under the prefix and the channel's hash tag.
    EXPECT_EQ(redis.command({"LLEN", "wsgate:{ch:room}:log"}), "3");
    EXPECT_EQ(redis.command({"HGET", "wsgate:{ch:room}:meta", "top"}), "3");
    const auto read = api_b.get("/api/v1/history?channel=room&limit=2");
    ASSERT_EQ(read.status, 200u) << read.body;
    EXPECT_EQ(read.json["events"][1]["data"], 2) << read.body;
    // A Redis that forgot the script (SCRIPT FLUSH) is sent it again, and nothing is lost.
    redis.command({"SCRIPT", "FLUSH"});
    EXPECT_EQ(api_a.publish(channel_event("room", "n", 4)).json["offset"], 4);
    EXPECT_EQ(api_a.get("/api/v1/history?channel=room").json["events"].size(), 4u);
    EXPECT_EQ(on_b.read_json()["data"], 4);
}

// A batch goes to Redis as one call of the publish script per run of events to one stream (at
// most 100 events): the offsets and the order are those of one call per event.
TEST(history_redis, a_batch_is_published_in_runs_of_one_stream_each) {
    redis_process redis;
    gateway_process gw({"--redis.url", redis.url(), "--channels",
                        R"([{"pattern":"*","subscribe":"anyone","history":{"size":1000,"ttl_ms":60000}}])"});
    http_client api(gw.api_port());
    ws_client room, hall;
    room.connect(gw.public_port());
    hall.connect(gw.public_port());
    EXPECT_EQ(room.request({{"type", "subscribe"}, {"channel", "room"}})["type"], "ack");
    EXPECT_EQ(hall.request({{"type", "subscribe"}, {"channel", "hall"}})["type"], "ack");
    ASSERT_TRUE(wait_until([&] { return api.get("/readyz").status == 200; }, 5s, 10ms));
    json batch = json::array();
    for (int i = 0; i < 150; ++i) batch.push_back(channel_event("room", "n", i));
    for (int i = 0; i < 10; ++i) batch.push_back(channel_event("hall", "n", i));
    for (int i = 150; i < 200; ++i) batch.push_back(channel_event("room", "n", i));
    batch[5]["idempotency_key"] = "five";
    batch[155]["idempotency_key"] = "five";  // another target: another publication
    redis.command({"CONFIG", "RESETSTAT"});
    const auto res = api.publish_batch(batch);
    ASSERT_EQ(res.status, 202u) << res.body;
    const auto& answers = res.json["events"];
    ASSERT_EQ(answers.size(), 210u) << res.body;
    for (int i = 0; i < 210; ++i) {
        const int expected = i < 150 ? i + 1 : i < 160 ? i - 149 : i - 9;
        EXPECT_EQ(answers[i]["offset"], expected) << i << ": " << answers[i];
        EXPECT_FALSE(answers[i].contains("duplicate")) << answers[i];
    }
    const std::string stats = redis.command({"INFO", "commandstats"});
    EXPECT_NE(stats.find("cmdstat_evalsha:calls=4,"), std::string::npos)
        << "room 100 + room 50, hall 10, room 50: " << stats;
    for (int i = 0; i < 200; ++i) {
        const auto e = room.read_json();
        ASSERT_EQ(e["offset"], i + 1) << e;
        ASSERT_EQ(e["data"], i) << e;
    }
    for (int i = 0; i < 10; ++i) EXPECT_EQ(hall.read_json()["offset"], i + 1);
    EXPECT_EQ(redis.command({"LLEN", "wsgate:{ch:room}:log"}), "200");
    // The retried batch: every event of it answered from its key or published anew, in order.
    json again = json::array({batch[5], channel_event("room", "n", 200), batch[155]});
    const auto retry = api.publish_batch(again);
    ASSERT_EQ(retry.status, 202u) << retry.body;
    EXPECT_EQ(retry.json["events"][0]["duplicate"], true) << retry.body;
    EXPECT_EQ(retry.json["events"][0]["offset"], 6) << retry.body;
    EXPECT_EQ(retry.json["events"][1]["offset"], 201) << retry.body;
    EXPECT_EQ(retry.json["events"][2]["duplicate"], true) << retry.body;
    EXPECT_EQ(retry.json["events"][2]["offset"], 6) << retry.body;
    EXPECT_EQ(room.read_json()["offset"], 201);
}

}  // namespace
}  // namespace wsgate::test
