#include <wsgate/api/rest_api.hpp>
#include <wsgate/bus/local_bus.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <nlohmann/json.hpp>

using namespace wsgate;
using nlohmann::json;

namespace {

class rest_api_fixture : public ::testing::Test {
protected:
    explicit rest_api_fixture(config c = {}) : state_(with_instance(std::move(c))), api_(state_) {
        state_.events = &bus_;
        bus_.on_message([this](const envelope& e) { published_.push_back(e); });
        bus_.subscribe("all");
        bus_.subscribe("ch:news");
    }

    static config with_instance(config c) {
        c.server.instance_id = "inst";
        return c;
    }

    // The answer of a request that is answered before handle() returns (the local bus
    // accepts at once).
    rest_response call(const rest_request& req, listener_role role) {
        std::optional<rest_response> answer;
        api_.handle(req, role, [&](rest_response r) {
            EXPECT_FALSE(answer.has_value()) << "answered twice";
            answer = std::move(r);
        });
        EXPECT_TRUE(answer.has_value()) << "not answered";
        return answer.value_or(rest_response{});
    }
    rest_response post(std::string_view path, std::string_view body,
                       std::string_view content_type = "application/json",
                       std::string_view auth = {}) {
        return call({"POST", path, content_type, auth, body, {}, {}}, listener_role::public_and_api);
    }
    rest_response get(std::string_view path, listener_role role = listener_role::public_and_api) {
        return call({"GET", path, {}, {}, {}, {}, {}}, role);
    }
    static std::string code_of(const rest_response& r) {
        return json::parse(r.body)["error"]["code"].get<std::string>();
    }
    std::vector<envelope> run_bus() {
        ioc_.run();
        ioc_.restart();
        return std::exchange(published_, {});
    }

    boost::asio::io_context ioc_;
    local_bus bus_{ioc_.get_executor()};
    shared_state state_;
    rest_api api_;
    std::vector<envelope> published_;
};

class rest_api_with_keys : public rest_api_fixture {
protected:
    static config keyed() {
        config c;
        c.auth.api_keys = {"k1", "secret2"};
        c.limits.max_batch_events = 3;
        return c;
    }
    rest_api_with_keys() : rest_api_fixture(keyed()) {}
};

}  // namespace

TEST_F(rest_api_fixture, publish_answers_202_with_an_id_and_hands_the_event_to_the_bus) {
    auto r = post("/api/v1/publish", R"({"channel":"news","event":"created","data":{"x":[1]}})");
    ASSERT_EQ(r.status, 202) << r.body;
    const auto id = json::parse(r.body)["id"].get<std::string>();
    EXPECT_EQ(id.rfind("inst:", 0), 0u);
    auto got = run_bus();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, id);
    EXPECT_EQ(got[0].kind, target_kind::channel);
    EXPECT_EQ(got[0].target, "news");
    EXPECT_EQ(got[0].event, "created");
    EXPECT_EQ(json::parse(got[0].data), json::parse(R"({"x":[1]})"));
    EXPECT_EQ(got[0].origin, "inst");
    EXPECT_EQ(state_.stats.events_published, 1u);
}

TEST_F(rest_api_fixture, data_defaults_to_null) {
    ASSERT_EQ(post("/api/v1/publish", R"({"broadcast":true,"event":"e"})").status, 202);
    auto got = run_bus();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "null");
}

TEST_F(rest_api_fixture, bad_publish_bodies_get_400_with_stable_codes) {
    const std::pair<const char*, const char*> cases[] = {
        {"{", "invalid_json"},
        {"[1]", "invalid_body"},
        {R"({"event":"e"})", "invalid_target"},
        {R"({"channel":"a","user":"b","event":"e"})", "invalid_target"},
        {R"({"broadcast":false,"event":"e"})", "invalid_target"},
        {R"({"user":5,"event":"e"})", "invalid_target"},
        {R"({"connection":"","event":"e"})", "invalid_target"},
        {R"({"channel":"has space","event":"e"})", "invalid_channel"},
        {R"({"channel":"a"})", "invalid_event"},
        {R"({"channel":"a","event":""})", "invalid_event"},
        {R"({"channel":"a","event":7})", "invalid_event"},
        {R"({"channel":"a","event":"e","colour":"red"})", "invalid_body"},
    };
    for (const auto& [body, code] : cases) {
        auto r = post("/api/v1/publish", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(code_of(r), code) << body;
    }
    EXPECT_TRUE(run_bus().empty());
    EXPECT_EQ((state_.stats.errors[{"rest", "invalid_target"}]), 5u);
}

TEST_F(rest_api_fixture, services_publish_messages_and_replies) {
    bus_.subscribe("conn:inst");
    bus_.subscribe("user:alice");
    ASSERT_EQ(post("/api/v1/publish",
                   R"({"reply_to":{"connection":"inst-4","id":"q"},"service":"chatbot"})")
                  .status,
              202);
    ASSERT_EQ(post("/api/v1/publish", R"({"user":"alice","service":"chatbot","data":1})").status,
              202);
    auto got = run_bus();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].frame, frame_kind::reply);
    EXPECT_EQ(got[0].target, "inst-4");
    EXPECT_EQ(got[0].reply_id, R"("q")");
    EXPECT_EQ(got[1].frame, frame_kind::message);
    EXPECT_EQ(got[1].service, "chatbot");

    const std::pair<const char*, const char*> bad[] = {
        {R"({"reply_to":{"connection":"inst-4","id":1}})", "invalid_service"},
        {R"({"reply_to":{"connection":"inst-4"},"service":"b"})", "invalid_target"},
        {R"({"reply_to":{"connection":"inst-4","id":1},"channel":"x","service":"b"})",
         "invalid_target"},
        {R"({"user":"u","service":"Bad Name"})", "invalid_service"},
        {R"({"user":"u","service":"bot","event":"e"})", "invalid_body"},
    };
    for (const auto& [body, code] : bad) EXPECT_EQ(code_of(post("/api/v1/publish", body)), code)
                                             << body;
}

TEST_F(rest_api_fixture, routes_methods_and_media_types) {
    EXPECT_EQ(get("/healthz").status, 200);
    EXPECT_EQ(get("/readyz").status, 200);
    EXPECT_EQ(code_of(get("/nope")), "not_found");
    auto wrong_method = get("/api/v1/publish");
    EXPECT_EQ(wrong_method.status, 405);
    ASSERT_EQ(wrong_method.headers.size(), 1u);
    EXPECT_EQ(wrong_method.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
    EXPECT_EQ(post("/healthz", "").status, 405);
    auto media = post("/api/v1/publish", R"({"broadcast":true,"event":"e"})", "text/plain");
    EXPECT_EQ(media.status, 415);
    EXPECT_EQ(post("/api/v1/publish", R"({"broadcast":true,"event":"e"})",
                   "Application/JSON; charset=utf-8")
                  .status,
              202);
    // RFC 7231 6.5.15: a 426 names the protocol to upgrade to, with its connection option.
    const auto upgrade = get("/ws");
    EXPECT_EQ(upgrade.status, 426);
    using header = std::pair<std::string, std::string>;
    EXPECT_EQ(upgrade.headers, (std::vector<header>{{"Upgrade", "websocket"},
                                                    {"Connection", "Upgrade"},
                                                    {"Sec-WebSocket-Version", "13"}}));
}

// Found by tests/fuzz/rest_fuzz: Beast passes bytes >= 0x80 in the request target through, and
// the 404 message quoting it made nlohmann's dump() throw out of the handler (and of
// io_context::run(): one request aborted the gateway). Likewise a field name cut to 64 bytes.
TEST_F(rest_api_fixture, errors_quoting_invalid_utf8_are_answered_with_valid_json) {
    auto not_found = get("/\xff");
    EXPECT_EQ(not_found.status, 404);
    EXPECT_EQ(json::parse(not_found.body)["error"]["message"], "no such resource: /\uFFFD");

    const std::string field = std::string(63, 'x') + "\u00e9";  // the cut falls inside 'é'
    auto unknown = post("/api/v1/publish", R"({"broadcast":true,"event":"e",")" + field + R"(":1})");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(code_of(unknown), "invalid_body");

    auto in_batch = post("/api/v1/publish/batch", R"([{"broadcast":true,")" + field + R"(":1}])");
    EXPECT_EQ(in_batch.status, 400);
    EXPECT_EQ(json::parse(in_batch.body)["error"]["index"], 0);
}

TEST_F(rest_api_fixture, listener_roles_split_public_and_api_routes) {
    EXPECT_EQ(get("/metrics", listener_role::public_only).status, 404);
    EXPECT_EQ(get("/metrics", listener_role::api_only).status, 200);
    EXPECT_EQ(get("/healthz", listener_role::public_only).status, 200);
    EXPECT_EQ(get("/ws", listener_role::api_only).status, 404);
    auto r = call({"POST", "/api/v1/publish", "application/json", {}, "{}", {}, {}},
                  listener_role::public_only);
    EXPECT_EQ(r.status, 404);
}

TEST_F(rest_api_fixture, readiness_turns_503_while_draining) {
    state_.draining = true;
    auto r = get("/readyz");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(json::parse(r.body)["status"], "draining");
    EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(rest_api_fixture, metrics_are_prometheus_text) {
    auto r = get("/metrics");
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4");
    EXPECT_NE(r.body.find("# TYPE wsgate_connections gauge\nwsgate_connections 0\n"),
              std::string::npos);
    EXPECT_NE(r.body.find("process_resident_memory_bytes "), std::string::npos);
}

TEST_F(rest_api_fixture, batch_delivers_in_order_and_is_all_or_nothing) {
    auto r = post("/api/v1/publish/batch",
                  R"([{"channel":"news","event":"a"},{"broadcast":true,"event":"b"},
                      {"channel":"news","event":"c"}])");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(json::parse(r.body)["ids"].size(), 3u);
    auto got = run_bus();
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].event + got[1].event + got[2].event, "abc");

    auto bad = post("/api/v1/publish/batch",
                    R"([{"channel":"news","event":"a"},{"channel":"news"}])");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(json::parse(bad.body)["error"]["index"], 1);
    EXPECT_EQ(code_of(bad), "invalid_event");
    EXPECT_EQ(code_of(post("/api/v1/publish/batch", "[]")), "invalid_body");
    EXPECT_EQ(code_of(post("/api/v1/publish/batch", "{}")), "invalid_body");
    EXPECT_TRUE(run_bus().empty());
}

TEST_F(rest_api_with_keys, api_keys_are_required_when_configured) {
    const auto body = R"({"broadcast":true,"event":"e"})";
    auto none = post("/api/v1/publish", body);
    EXPECT_EQ(none.status, 401);
    ASSERT_EQ(none.headers.size(), 1u);
    EXPECT_EQ(none.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(post("/api/v1/publish", body, "application/json", "Bearer nope").status, 401);
    EXPECT_EQ(post("/api/v1/publish", body, "application/json", "Bearer k").status, 401);
    EXPECT_EQ(post("/api/v1/publish", body, "application/json", "Basic k1").status, 401);
    EXPECT_EQ(post("/api/v1/publish", body, "application/json", "Bearer k1").status, 202);
    EXPECT_EQ(post("/api/v1/publish", body, "application/json", "bearer secret2").status, 202);
    EXPECT_EQ(get("/metrics").status, 200) << "scrapes need no key";
}

TEST_F(rest_api_with_keys, batches_past_the_limit_get_413) {
    auto r = post("/api/v1/publish/batch",
                  R"([{"broadcast":true,"event":"a"},{"broadcast":true,"event":"a"},
                      {"broadcast":true,"event":"a"},{"broadcast":true,"event":"a"}])",
                  "application/json", "Bearer k1");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(code_of(r), "too_many_events");
}

namespace {

// A bus that accepts the first `accept` publications, then loses the rest; it answers later,
// as Redis does.
class flaky_bus final : public bus {
public:
    explicit flaky_bus(std::size_t accept) : accept_(accept) {}
    void publish(const envelope& e, const publish_options&, publish_callback done) override {
        publish_result r;
        r.accepted = answers_.size() < accept_;
        r.id = e.id;
        answers_.emplace_back(std::move(done), std::move(r));
    }
    void read_history(const std::string&, const std::string&, std::uint64_t, std::size_t,
                      read_callback done) override {
        done(std::nullopt);
    }
    void remove_history(const std::string&, std::function<void(bool)> done) override {
        done(false);
    }
    void subscribe(const std::string&) override {}
    void unsubscribe(const std::string&) override {}
    bool ready() const override { return false; }
    void when_subscribed(const std::string&, std::function<void()> in_force) override {
        in_force();
    }
    void answer_all() {
        for (auto& [done, r] : std::exchange(answers_, {})) done(r);
    }

private:
    std::size_t accept_;
    std::vector<std::pair<publish_callback, publish_result>> answers_;
};

}  // namespace

TEST(rest_api, publish_waits_for_the_bus_and_reports_a_lost_event_as_503) {
    shared_state state{config{}};
    flaky_bus bus(0);
    state.events = &bus;
    rest_api api(state);
    std::optional<rest_response> answer;
    api.handle({"POST", "/api/v1/publish", "application/json", {}, R"({"user":"u","event":"e"})",
                {}, {}},
               listener_role::public_and_api, [&](rest_response r) { answer = std::move(r); });
    EXPECT_FALSE(answer.has_value()) << "no 202 before the bus has the event";
    bus.answer_all();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 503);
    EXPECT_EQ(json::parse(answer->body)["error"]["code"], "bus_unavailable");
    EXPECT_EQ(state.stats.events_published, 0u);
}

TEST(rest_api, a_batch_cut_short_by_the_bus_says_which_events_were_accepted) {
    shared_state state{config{}};
    flaky_bus bus(2);
    state.events = &bus;
    rest_api api(state);
    std::optional<rest_response> answer;
    api.handle({"POST", "/api/v1/publish/batch", "application/json", {},
                R"([{"user":"u","event":"a"},{"user":"u","event":"b"},{"user":"u","event":"c"}])",
                {}, {}},
               listener_role::public_and_api, [&](rest_response r) { answer = std::move(r); });
    bus.answer_all();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 503);
    const auto body = json::parse(answer->body);
    EXPECT_EQ(body["error"]["index"], 2);
    EXPECT_EQ(body["ids"].size(), 2u);
    EXPECT_EQ(state.stats.events_published, 2u);
}

// docs/openapi.yaml: data is passed through unchanged.
TEST_F(rest_api_fixture, data_reaches_the_bus_byte_for_byte) {
    const std::string data =
        R"({"z":1,  "a":[2.50, 1E+2, 123456789012345678901234567890], "s":"\u00e9" })";
    ASSERT_EQ(post("/api/v1/publish", R"({"channel":"news","event":"e","data":)" + data + "}")
                  .status,
              202);
    ASSERT_EQ(post("/api/v1/publish/batch",
                   R"([{"channel":"news","event":"e","data":)" + data + R"(},
                       {"broadcast":true,"event":"e","data":-1e400}])")
                  .status,
              202);
    auto got = run_bus();
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].data, data);
    EXPECT_EQ(got[1].data, data);
    EXPECT_EQ(got[2].data, "-1e400");
}

TEST_F(rest_api_fixture, bodies_nested_deeper_than_the_limit_get_400_naming_it) {
    const auto deep = [](int n) {
        return R"({"channel":"news","event":"e","data":)" + std::string(n, '[') +
               std::string(n, ']') + "}";
    };
    EXPECT_EQ(post("/api/v1/publish", deep(64)).status, 202);
    EXPECT_EQ(post("/api/v1/publish/batch", "[" + deep(64) + "]").status, 202);
    for (const auto& body : {deep(65), deep(200000), "[" + deep(65) + "]"}) {
        const bool batch = body.front() == '[';
        auto r = post(batch ? "/api/v1/publish/batch" : "/api/v1/publish", body);
        EXPECT_EQ(r.status, 400);
        EXPECT_EQ(code_of(r), "invalid_json");
        EXPECT_NE(r.body.find("limits.json_max_depth"), std::string::npos) << r.body;
    }
    EXPECT_EQ(run_bus().size(), 2u);
    EXPECT_EQ(state_.stats.json_too_deep["rest"], 3u);
    EXPECT_NE(get("/metrics").body.find("wsgate_json_too_deep_total{source=\"rest\"} 3"),
              std::string::npos);
}

TEST_F(rest_api_fixture, a_field_given_twice_is_refused) {
    auto r = post("/api/v1/publish", R"({"channel":"news","channel":"other","event":"e"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(code_of(r), "invalid_json");
    r = post("/api/v1/publish/batch", R"([{"channel":"news","event":"e","event":"f"}])");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(code_of(r), "invalid_json");
    EXPECT_EQ(json::parse(r.body)["error"]["index"], 0);
    EXPECT_TRUE(run_bus().empty());
}

TEST_F(rest_api_fixture, reply_ids_are_kept_as_sent_and_counted_in_characters) {
    bus_.subscribe("conn:inst");
    ASSERT_EQ(post("/api/v1/publish",
                   R"({"reply_to":{"connection":"inst-1","id":7.50},"service":"bot","data":1})")
                  .status,
              202);
    std::string id64;
    for (int i = 0; i < 64; ++i) id64 += "\xc3\xa9";
    ASSERT_EQ(post("/api/v1/publish", R"({"reply_to":{"connection":"inst-1","id":")" + id64 +
                                          R"("},"service":"bot"})")
                  .status,
              202);
    EXPECT_EQ(post("/api/v1/publish", R"({"reply_to":{"connection":"inst-1","id":")" + id64 +
                                          "\xc3\xa9" + R"("},"service":"bot"})")
                  .status,
              400);
    auto got = run_bus();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].reply_id, "7.50");
    EXPECT_EQ(got[1].reply_id, "\"" + id64 + "\"");
}
