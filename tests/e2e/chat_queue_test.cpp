// The `queue` transport end to end: a gateway appends each client `send` to the service's Redis
// stream and acks it; wsgate-chatbot workers (a consumer group) answer through the REST API.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "chat_rig.hpp"
#include "chatbot_process.hpp"
#include "cluster.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;

const std::string queue_stream = redis_prefix + "svc:chatbot";
const std::string worker_group = "workers";

/// Redis and one gateway with `chatbot` as a `queue` service and the API key k1.
struct queue_rig {
    queue_rig()
        : gateway({"--redis.url", redis.url(), "--auth.api_keys", chat_api_key, "--services",
                   json{{"chatbot", {{"transport", "queue"}}}}.dump()}) {
        if (!wait_until([&] { return readiness(gateway.public_port()) == "ready"; }, 10s, 20ms)) {
            throw std::runtime_error("the gateway was not ready within 10 s: " +
                                     readiness(gateway.public_port()));
        }
    }

    http_client api() const {
        http_client client(gateway.api_port());
        client.set_api_key(chat_api_key);
        return client;
    }

    std::unique_ptr<chatbot_process> start_worker(const std::string& consumer) {
        return chatbot_process::worker(redis.url(), gateway.api_port(), chat_api_key, consumer);
    }

    long long stream_length() const { return std::stoll(redis.command({"XLEN", queue_stream})); }

    /// How many entries the group has delivered and not yet seen acknowledged (-1: no group).
    long long pending() const {
        try {
            const std::string out = redis.command({"XPENDING", queue_stream, worker_group});
            return std::stoll(out.substr(0, out.find('\n')));
        } catch (const std::exception&) {
            return -1;
        }
    }

    /// Waits until every entry was acknowledged; records a failure otherwise.
    void expect_all_acknowledged() const {
        long long seen = -1;
        EXPECT_TRUE(wait_until([&] { return (seen = pending()) == 0; }, 5s, 20ms))
            << "XPENDING stayed " << seen;
    }

    redis_process redis;
    gateway_process gateway;
};

/// Then a broadcast marker: the next frame each client reads; nothing came twice or astray.
void expect_marker_next(const http_client& api, const std::vector<ws_client*>& clients) {
    const std::string marker = api.publish_ok({{"broadcast", true}, {"event", "marker"}});
    for (ws_client* client : clients) {
        const json next = client->read_json();
        EXPECT_EQ(next.value("event", ""), "marker") << next.dump();
        EXPECT_EQ(next.value("id", ""), marker);
    }
}

TEST(e2e_chat_queue, messages_queued_before_any_worker_are_answered_once_in_order) {
    queue_rig rig;
    ws_client client;
    client.connect(rig.gateway.public_port());

    // No worker yet: every send is stored in the stream and acked all the same.
    constexpr int count = 50;
    for (int i = 0; i < count; ++i) {
        client.send_json(send_frame("msg " + std::to_string(i), i));
    }
    std::vector<json> expected_acks;
    for (int i = 0; i < count; ++i) {
        expected_acks.push_back(ack(i));
    }
    EXPECT_EQ(sorted(read_frames(client, count)), sorted(expected_acks));
    EXPECT_EQ(rig.stream_length(), count);
    EXPECT_EQ(client.poll_json_for(200ms), std::nullopt) << "nothing answers before a worker runs";

    // The first worker creates the group from the stream's start: all 50 are answered, in order.
    auto worker = rig.start_worker("w1");
    for (int i = 0; i < count; ++i) {
        const json frame = client.read_json();
        const json expected = reply(i, "echo: msg " + std::to_string(i));
        if (frame != expected) {
            ADD_FAILURE() << "frame #" << i << ": expected " << expected.dump() << ", got "
                          << frame.dump();
            break;
        }
    }
    rig.expect_all_acknowledged();
    expect_marker_next(rig.api(), {&client});

    // SIGTERM stops the worker within about a second (its reads block for at most 1 s).
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(worker->stop(3s), std::optional<int>(0));
    EXPECT_LT(elapsed_ms(asked), 2000);
}

TEST(e2e_chat_queue, two_workers_share_the_load_and_answer_each_message_once) {
    queue_rig rig;
    auto w1 = rig.start_worker("w1");
    auto w2 = rig.start_worker("w2");

    constexpr int clients = 4;
    constexpr int per_client = 10;
    std::vector<std::unique_ptr<ws_client>> owned;
    for (int k = 0; k < clients; ++k) {
        owned.push_back(std::make_unique<ws_client>());
        owned.back()->connect(rig.gateway.public_port());
    }
    const std::vector<ws_client*> all = client_pointers(owned);

    for (int i = 0; i < per_client; ++i) {
        for (int k = 0; k < clients; ++k) {
            all[k]->send_json(send_frame("c" + std::to_string(k) + " msg " + std::to_string(i), i));
        }
    }
    // Each client gets an ack and one reply per message; two workers answer in no fixed order.
    for (int k = 0; k < clients; ++k) {
        std::vector<json> expected;
        for (int i = 0; i < per_client; ++i) {
            expected.push_back(ack(i));
            expected.push_back(
                reply(i, "echo: c" + std::to_string(k) + " msg " + std::to_string(i)));
        }
        EXPECT_EQ(sorted(read_frames(*all[k], 2 * per_client)), sorted(expected))
            << "client " << k;
    }
    rig.expect_all_acknowledged();
    expect_marker_next(rig.api(), all);

    // Both workers joined the one group (which of them took which message is up to Redis).
    const std::string consumers = rig.redis.command({"XINFO", "CONSUMERS", queue_stream,
                                                     worker_group});
    EXPECT_NE(consumers.find("w1"), std::string::npos) << consumers;
    EXPECT_NE(consumers.find("w2"), std::string::npos) << consumers;
    EXPECT_EQ(rig.stream_length(), clients * per_client);
}

}  // namespace
}  // namespace wsgate::test::e2e
