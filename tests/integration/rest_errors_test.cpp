// Bad REST requests: each gets its documented status and JSON error code, and is counted.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

const std::string publish_path = "/api/v1/publish";
const std::string batch_path = "/api/v1/publish/batch";
const header_list json_type{{"Content-Type", "application/json"}};

std::string rest_errors(const std::string& code) {
    return "wsgate_errors_total{source=\"rest\",code=\"" + code + "\"}";
}

struct bad_request_case {
    std::string name;
    std::vector<std::string> args;  ///< extra gateway arguments
    std::string method;
    std::string target;
    std::string body;
    header_list headers;
    unsigned status;
    std::string code;
};

void PrintTo(const bad_request_case& c, std::ostream* os) { *os << c.name; }

class bad_request : public ::testing::TestWithParam<bad_request_case> {};

TEST_P(bad_request, gets_its_status_and_error_code_and_is_counted) {
    const auto& param = GetParam();
    gateway_process gw(param.args);
    http_client api(gw.api_port());

    const auto res = api.request(param.method, param.target, param.body, param.headers);

    expect_rest_error(res, param.status, param.code);
    EXPECT_EQ(api.wait_metric(rest_errors(param.code), 1), 1);
    EXPECT_EQ(api.metric("wsgate_events_published_total"), 0.0);
}

bad_request_case publish_case(std::string name, std::string body, std::string code) {
    return {std::move(name), {},        "POST", publish_path,
            std::move(body), json_type, 400,    std::move(code)};
}

const std::string long_event(129, 'e');
const std::string big_body =
    R"({"broadcast":true,"event":"big","data":")" + std::string(3000, 'x') + "\"}";
const std::string four_events = json::array({broadcast_event("a"), broadcast_event("b"),
                                             broadcast_event("c"), broadcast_event("d")})
                                    .dump();
const std::string valid_event = broadcast_event("ok").dump();
const std::vector<std::string> with_keys{"--auth.api_keys", "k1,k2"};

INSTANTIATE_TEST_SUITE_P(
    rest_errors, bad_request,
    ::testing::Values(
        bad_request_case{"unknown_api_route", {}, "GET", "/api/v1/nope", "", {}, 404, "not_found"},
        bad_request_case{"unknown_path", {}, "GET", "/nope", "", {}, 404, "not_found"},
        bad_request_case{
            "publish_with_get", {}, "GET", publish_path, "", {}, 405, "method_not_allowed"},
        bad_request_case{"healthz_with_post",
                         {},
                         "POST",
                         "/healthz",
                         "{}",
                         json_type,
                         405,
                         "method_not_allowed"},
        bad_request_case{"text_plain_body",
                         {},
                         "POST",
                         publish_path,
                         valid_event,
                         {{"Content-Type", "text/plain"}},
                         415,
                         "unsupported_media_type"},
        bad_request_case{"no_content_type",
                         {},
                         "POST",
                         publish_path,
                         valid_event,
                         {},
                         415,
                         "unsupported_media_type"},
        bad_request_case{"missing_api_key", with_keys, "POST", publish_path, valid_event, json_type,
                         401, "unauthorized"},
        bad_request_case{"wrong_api_key",
                         with_keys,
                         "POST",
                         publish_path,
                         valid_event,
                         {{"Content-Type", "application/json"}, {"Authorization", "Bearer k3"}},
                         401,
                         "unauthorized"},
        bad_request_case{"api_key_not_bearer",
                         with_keys,
                         "POST",
                         publish_path,
                         valid_event,
                         {{"Content-Type", "application/json"}, {"Authorization", "k1"}},
                         401,
                         "unauthorized"},
        bad_request_case{"body_over_max_body_bytes",
                         {"--limits.max_body_bytes", "2048"},
                         "POST",
                         publish_path,
                         big_body,
                         json_type,
                         413,
                         "payload_too_large"},
        bad_request_case{"batch_over_max_batch_events",
                         {"--limits.max_batch_events", "3"},
                         "POST",
                         batch_path,
                         four_events,
                         json_type,
                         413,
                         "too_many_events"},
        publish_case("invalid_json", R"({"channel":)", "invalid_json"),
        publish_case("body_not_an_object", R"(["news"])", "invalid_body"),
        publish_case("unknown_field", R"({"channel":"news","event":"e","extra":1})",
                     "invalid_body"),
        publish_case("no_target", R"({"event":"e"})", "invalid_target"),
        publish_case("two_targets", R"({"channel":"news","user":"alice","event":"e"})",
                     "invalid_target"),
        publish_case("broadcast_false", R"({"broadcast":false,"event":"e"})", "invalid_target"),
        publish_case("broadcast_string", R"({"broadcast":"true","event":"e"})", "invalid_target"),
        publish_case("channel_of_wrong_type", R"({"channel":5,"event":"e"})", "invalid_target"),
        publish_case("empty_user", R"({"user":"","event":"e"})", "invalid_target"),
        publish_case("user_too_long", R"({"user":")" + std::string(129, 'u') + R"(","event":"e"})",
                     "invalid_target"),
        publish_case("connection_with_space", R"({"connection":"a b","event":"e"})",
                     "invalid_target"),
        publish_case("invalid_channel_name", R"({"channel":"news feed","event":"e"})",
                     "invalid_channel"),
        publish_case("empty_channel_name", R"({"channel":"","event":"e"})", "invalid_channel"),
        publish_case("event_missing", R"({"channel":"news"})", "invalid_event"),
        publish_case("event_not_a_string", R"({"channel":"news","event":5})", "invalid_event"),
        publish_case("event_empty", R"({"channel":"news","event":""})", "invalid_event"),
        publish_case("event_too_long", R"({"channel":"news","event":")" + long_event + "\"}",
                     "invalid_event"),
        bad_request_case{"batch_not_an_array",
                         {},
                         "POST",
                         batch_path,
                         valid_event,
                         json_type,
                         400,
                         "invalid_body"},
        bad_request_case{
            "batch_empty", {}, "POST", batch_path, "[]", json_type, 400, "invalid_body"},
        bad_request_case{
            "batch_invalid_json", {}, "POST", batch_path, "[{", json_type, 400, "invalid_json"},
        bad_request_case{
            "ws_path_without_upgrade", {}, "GET", "/ws", "", {}, 426, "upgrade_required"}),
    [](const ::testing::TestParamInfo<bad_request_case>& param_info) {
        return param_info.param.name;
    });

TEST(rest_errors, wrong_method_lists_the_allowed_ones) {
    gateway_process gw;
    http_client api(gw.api_port());

    const auto publish = api.get(publish_path);
    const auto healthz = api.request("DELETE", "/healthz");

    EXPECT_EQ(publish.status, 405u);
    EXPECT_NE(publish.header("Allow").find("POST"), std::string::npos) << publish.header("Allow");
    EXPECT_EQ(healthz.status, 405u);
    EXPECT_NE(healthz.header("Allow").find("GET"), std::string::npos) << healthz.header("Allow");
    EXPECT_EQ(api.wait_metric(rest_errors("method_not_allowed"), 2), 2);
}

TEST(rest_errors, missing_api_key_is_answered_with_www_authenticate_bearer) {
    gateway_process gw(with_keys);
    const auto res = http_client(gw.api_port()).post_json(publish_path, valid_event);
    expect_rest_error(res, 401, "unauthorized");
    EXPECT_EQ(res.header("WWW-Authenticate").rfind("Bearer", 0), 0u)
        << res.header("WWW-Authenticate");
}

TEST(rest_errors, any_configured_api_key_is_accepted) {
    gateway_process gw(with_keys);
    http_client api(gw.api_port());
    ws_client client;
    client.connect(gw.public_port());

    for (const char* key : {"k1", "k2"}) {
        api.set_api_key(key);
        const std::string id = api.publish_ok(broadcast_event("keyed"));
        expect_event(client.read_json(), id, "keyed", std::nullopt);
    }
    api.set_api_key("k2");
    EXPECT_EQ(api.publish_batch_ok(json::array({broadcast_event("batched")})).size(), 1u);
}

TEST(rest_errors, health_and_metrics_need_no_api_key) {
    gateway_process gw(with_keys);
    http_client api(gw.api_port());
    EXPECT_EQ(api.get("/healthz").status, 200u);
    EXPECT_EQ(api.get("/readyz").status, 200u);
    EXPECT_EQ(api.get("/metrics").status, 200u);
}

TEST(rest_errors, content_type_with_parameters_is_accepted) {
    gateway_process gw;
    http_client api(gw.api_port());
    const auto res = api.request("POST", publish_path, valid_event,
                                 {{"Content-Type", "application/json; charset=utf-8"}});
    EXPECT_EQ(res.status, 202u) << res.body;
    EXPECT_TRUE(res.json.contains("id")) << res.body;
}

TEST(rest_errors, body_of_exactly_max_body_bytes_is_accepted) {
    gateway_process gw({"--limits.max_body_bytes", "2048"});
    const std::string head = R"({"broadcast":true,"event":"e","data":")";
    const std::string body = head + std::string(2048 - head.size() - 2, 'x') + "\"}";
    ASSERT_EQ(body.size(), 2048u);
    EXPECT_EQ(http_client(gw.api_port()).post_json(publish_path, body).status, 202u);
}

TEST(rest_errors, websocket_upgrade_on_another_path_is_refused_with_404) {
    gateway_process gw;
    ws_client client;
    const auto result = client.try_connect(gw.public_port(), "/elsewhere");
    EXPECT_FALSE(result.upgraded);
    EXPECT_EQ(result.status, 404u) << result.body;
}

TEST(rest_errors, user_query_without_insecure_dev_user_is_refused_with_403) {
    gateway_process gw;
    http_client api(gw.api_port());
    ws_client client;

    const auto result = client.try_connect(gw.public_port(), "/ws?user=alice");

    EXPECT_FALSE(result.upgraded);
    EXPECT_EQ(result.status, 403u) << result.body;
    http_response refusal;
    refusal.json = json::parse(result.body, nullptr, false);
    EXPECT_EQ(refusal.error_code(), "user_not_allowed") << result.body;
    EXPECT_EQ(api.wait_metric(R"(wsgate_errors_total{source="handshake",code="user_not_allowed"})", 1),
              1);
    EXPECT_EQ(api.metric("wsgate_connections"), 0.0);
}

}  // namespace
}  // namespace wsgate::test
