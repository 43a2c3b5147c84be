// Pipelined REST requests through Redis: a publish is answered only once Redis has taken it,
// later than the requests behind it could be; the answers still come in request order.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster.hpp"
#include "expectations.hpp"
#include "http_pipeline.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;

TEST(e2e_rest_pipeline, answers_that_wait_for_redis_keep_the_request_order) {
    redis_process redis;
    // Long enough that a frozen Redis only delays the publish, rather than failing it.
    gateway_process gw({"--redis.url", redis.url(), "--redis.timeout_ms", "10000"});
    ASSERT_TRUE(wait_until([&] { return readiness(gw.api_port()) == "ready"; }, 10s));
    ws_client client;
    client.connect(gw.public_port());

    http_pipeline pipeline(gw.api_port());
    pipeline.publish(broadcast_event("e0")).add("GET", "/healthz");
    pipeline.publish(broadcast_event("e1")).publish(broadcast_event("e2"));
    pipeline.add("GET", "/healthz").publish(broadcast_event("e3"));
    redis.pause();
    pipeline.send();
    // The first publish waits for Redis; the /healthz behind it, answered at once, waits too.
    EXPECT_TRUE(pipeline.receive(1, 300ms).empty());
    redis.resume();

    const auto answers = pipeline.receive(6, 10s);
    ASSERT_EQ(answers.size(), 6u);
    const std::vector<unsigned> statuses{202, 200, 202, 202, 200, 202};
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < answers.size(); ++i) {
        EXPECT_EQ(answers[i].status, statuses[i]) << "request #" << i << ": " << answers[i].body;
        if (answers[i].status == 202) ids.push_back(answers[i].json.value("id", ""));
    }
    ASSERT_EQ(ids.size(), 4u);
    for (std::size_t i = 0; i < ids.size(); ++i)
        expect_event(client.read_json(), ids[i], "e" + std::to_string(i), std::nullopt);
}

}  // namespace
}  // namespace wsgate::test::e2e
