// Bad input from WebSocket clients: each gets its documented answer, is counted, and neither the
// offending connection (for error frames) nor any other client is disturbed.

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

std::string ws_errors(const std::string& code) {
    return "wsgate_errors_total{source=\"ws\",code=\"" + code + "\"}";
}

std::string closes(const std::string& reason) {
    return "wsgate_closes_total{reason=\"" + reason + "\"}";
}

/// A gateway with an observer client subscribed to "observed": the observer must keep
/// receiving events whatever the client under test does.
class ws_errors_fixture {
  public:
    explicit ws_errors_fixture(std::vector<std::string> args = {})
        : gw(std::move(args)), api(gw.api_port()) {
        observer.connect(gw.public_port());
        observer.subscribe("observed");
        client.connect(gw.public_port());
        expect_observer_receives();
    }

    void expect_observer_receives() {
        const json data{{"n", ++published_}};
        const std::string id = api.publish_ok(channel_event("observed", "tick", data));
        expect_event(observer.read_json(), id, "tick", "observed", data);
    }

    /// Records a failure unless `reply` is an error frame with `code` and exactly `id`
    /// (no id field when `id` is null).
    static void expect_error(const json& reply, const std::string& code, const json& id) {
        EXPECT_EQ(reply.value("type", ""), "error") << reply.dump();
        EXPECT_EQ(reply.value("code", ""), code) << reply.dump();
        EXPECT_TRUE(reply.contains("message") && reply["message"].is_string()) << reply.dump();
        if (id.is_null()) {
            EXPECT_FALSE(reply.contains("id")) << reply.dump();
        } else {
            EXPECT_EQ(reply.value("id", json()), id) << reply.dump();
        }
    }

    gateway_process gw;
    http_client api;
    ws_client observer;
    ws_client client;

  private:
    int published_ = 0;
};

struct bad_frame_case {
    std::string name;
    std::string frame;
    std::string code;
    json id;  ///< the id the error must echo; null: the error must have no id
};

void PrintTo(const bad_frame_case& c, std::ostream* os) { *os << c.name; }

class bad_frame : public ::testing::TestWithParam<bad_frame_case> {};

TEST_P(bad_frame, is_answered_with_its_error_and_the_connection_keeps_working) {
    const auto& param = GetParam();
    ws_errors_fixture f;

    f.client.send_text(param.frame);

    f.expect_error(f.client.read_json(), param.code, param.id);
    EXPECT_TRUE(f.client.ping()) << "connection unusable after " << param.name;
    f.expect_observer_receives();
    EXPECT_EQ(f.api.wait_metric(ws_errors(param.code), 1), 1);
}

const std::string long_id(65, 'i');
const std::string long_channel(129, 'c');

INSTANTIATE_TEST_SUITE_P(
    ws_errors, bad_frame,
    ::testing::Values(
        bad_frame_case{"malformed_json", R"({"type":"ping","id":1)", "invalid_json", nullptr},
        bad_frame_case{"array_frame", R"([{"type":"ping","id":1}])", "not_an_object", nullptr},
        bad_frame_case{"string_frame", R"("ping")", "not_an_object", nullptr},
        bad_frame_case{"unknown_type", R"({"type":"dance","id":5})", "unknown_type", 5},
        bad_frame_case{"missing_type", R"({"id":"m-1","channel":"news"})", "missing_field", "m-1"},
        bad_frame_case{"type_of_wrong_type", R"({"type":7,"id":6})", "invalid_field", 6},
        bad_frame_case{"subscribe_without_channel", R"({"type":"subscribe","id":7})",
                       "missing_field", 7},
        bad_frame_case{"unsubscribe_without_channel", R"({"type":"unsubscribe","id":8})",
                       "missing_field", 8},
        bad_frame_case{"channel_of_wrong_type", R"({"type":"subscribe","channel":5,"id":9})",
                       "invalid_field", 9},
        bad_frame_case{"id_of_wrong_type", R"({"type":"ping","id":{}})", "invalid_field", nullptr},
        bad_frame_case{"id_too_long", R"({"type":"ping","id":")" + long_id + "\"}", "invalid_field",
                       nullptr},
        bad_frame_case{"empty_channel", R"({"type":"subscribe","channel":"","id":10})",
                       "invalid_channel", 10},
        bad_frame_case{"channel_too_long",
                       R"({"type":"subscribe","channel":")" + long_channel + R"(","id":"l"})",
                       "invalid_channel", "l"},
        bad_frame_case{"channel_with_space",
                       R"({"type":"subscribe","channel":"news feed","id":11})", "invalid_channel",
                       11},
        bad_frame_case{"channel_with_bang", R"({"type":"unsubscribe","channel":"news!","id":12})",
                       "invalid_channel", 12},
        bad_frame_case{"channel_not_ascii",
                       "{\"type\":\"subscribe\",\"channel\":\"caf\xc3\xa9\",\"id\":13}",
                       "invalid_channel", 13},
        bad_frame_case{"unsubscribe_not_subscribed",
                       R"({"type":"unsubscribe","channel":"news","id":14})", "not_subscribed", 14}),
    [](const ::testing::TestParamInfo<bad_frame_case>& param_info) {
        return param_info.param.name;
    });

TEST(ws_errors, channel_of_maximum_length_and_every_allowed_character_is_accepted) {
    ws_errors_fixture f;
    f.client.subscribe(std::string(128, 'm'));
    f.client.subscribe("AZaz09-_.:@/=");
    EXPECT_EQ(f.api.metric("wsgate_subscriptions"), 3.0);  // two here, one for the observer
}

TEST(ws_errors, subscribing_past_max_subscriptions_is_refused_and_changes_nothing) {
    ws_errors_fixture f({"--limits.max_subscriptions", "5"});
    for (int i = 0; i < 5; ++i) {
        f.client.subscribe("ch" + std::to_string(i));
    }

    f.expect_error(f.client.request({{"type", "subscribe"}, {"channel", "ch5"}, {"id", "six"}}),
                   "too_many_subscriptions", "six");

    EXPECT_TRUE(f.client.ping());
    f.expect_observer_receives();
    EXPECT_EQ(f.api.wait_metric(ws_errors("too_many_subscriptions"), 1), 1);
    f.api.publish_ok(channel_event("ch5", "not-for-you"));
    const std::string id = f.api.publish_ok(channel_event("ch4", "for-you"));
    expect_event(f.client.read_json(), id, "for-you", "ch4");
    expect_marker_next(f.api, {&f.client, &f.observer});
    f.client.unsubscribe("ch0");
    f.client.subscribe("ch5");
}

TEST(ws_errors, resubscribing_at_the_subscription_limit_is_acknowledged) {
    ws_errors_fixture f({"--limits.max_subscriptions", "2"});
    f.client.subscribe("a");
    f.client.subscribe("b");
    f.client.subscribe("a");
}

TEST(ws_errors, message_of_exactly_max_message_bytes_is_accepted) {
    ws_errors_fixture f({"--limits.max_message_bytes", "1024"});
    const std::string head = R"({"type":"ping","id":77,"pad":")";
    const std::string frame = head + std::string(1024 - head.size() - 2, 'p') + "\"}";
    ASSERT_EQ(frame.size(), 1024u);

    f.client.send_text(frame);

    EXPECT_EQ(f.client.read_json(), (json{{"type", "pong"}, {"id", 77}}));
}

/// Sends something that makes the gateway close the connection; checks the close code,
/// the reason text (when given), the close counter, and that the observer is unaffected.
void expect_closed_by(ws_errors_fixture& f, std::uint16_t code, const char* reason_text,
                      const std::string& reason_label) {
    const auto end = f.client.read_until_close();
    EXPECT_TRUE(end.close_frame) << end.error.message();
    EXPECT_EQ(end.code, code);
    if (reason_text != nullptr) {
        EXPECT_EQ(end.reason, reason_text);
    }
    EXPECT_TRUE(end.frames.empty()) << end.frames.size() << " frames before the close";
    EXPECT_EQ(f.api.wait_metric(closes(reason_label), 1), 1);
    f.expect_observer_receives();
    EXPECT_EQ(f.api.wait_metric("wsgate_connections", 1), 1);
}

TEST(ws_errors, message_over_max_message_bytes_closes_with_1009) {
    ws_errors_fixture f({"--limits.max_message_bytes", "1024"});
    f.client.send_text(R"({"type":"ping","pad":")" + std::string(2000, 'p') + "\"}");
    expect_closed_by(f, 1009, nullptr, "too_big");
}

TEST(ws_errors, binary_frame_closes_with_1003) {
    ws_errors_fixture f;
    f.client.send_binary(R"({"type":"ping","id":1})");
    expect_closed_by(f, 1003, "binary frames are not supported", "binary");
}

TEST(ws_errors, text_frame_with_invalid_utf8_closes_with_1007) {
    ws_errors_fixture f;
    f.client.send_text("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}");
    expect_closed_by(f, 1007, nullptr, "bad_utf8");
}

TEST(ws_errors, several_errors_in_a_row_are_each_answered_and_counted) {
    ws_errors_fixture f;
    for (int i = 0; i < 3; ++i) {
        f.client.send_text("not json");
        f.expect_error(f.client.read_json(), "invalid_json", nullptr);
    }
    f.expect_error(f.client.request({{"type", "nope"}, {"id", 1}}), "unknown_type", 1);
    EXPECT_TRUE(f.client.ping());
    EXPECT_EQ(f.api.wait_metric(ws_errors("invalid_json"), 3), 3);
    EXPECT_EQ(f.api.wait_metric(ws_errors("unknown_type"), 1), 1);
    f.expect_observer_receives();
}

}  // namespace
}  // namespace wsgate::test
