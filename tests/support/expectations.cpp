#include "expectations.hpp"

#include <gtest/gtest.h>

namespace wsgate::test {
namespace {

nlohmann::json with_event(nlohmann::json target, const std::string& event,
                          const nlohmann::json& data) {
    target["event"] = event;
    target["data"] = data;
    return target;
}

}  // namespace

nlohmann::json channel_event(const std::string& channel, const std::string& event,
                             const nlohmann::json& data) {
    return with_event({{"channel", channel}}, event, data);
}

nlohmann::json user_event(const std::string& user, const std::string& event,
                          const nlohmann::json& data) {
    return with_event({{"user", user}}, event, data);
}

nlohmann::json connection_event(const std::string& connection, const std::string& event,
                                const nlohmann::json& data) {
    return with_event({{"connection", connection}}, event, data);
}

nlohmann::json broadcast_event(const std::string& event, const nlohmann::json& data) {
    return with_event({{"broadcast", true}}, event, data);
}

void expect_event(const nlohmann::json& frame, const std::string& id, const std::string& event,
                  const std::optional<std::string>& channel, const nlohmann::json& data) {
    nlohmann::json expected{{"type", "event"}, {"event", event}, {"id", id}, {"data", data}};
    if (channel) {
        expected["channel"] = *channel;
    }
    EXPECT_EQ(frame, expected);
}

void expect_marker_next(const http_client& api, const std::vector<ws_client*>& clients) {
    static int markers = 0;
    const nlohmann::json data{{"marker", ++markers}};
    const std::string id = api.publish_ok(broadcast_event("marker", data));
    for (std::size_t i = 0; i < clients.size(); ++i) {
        SCOPED_TRACE("client #" + std::to_string(i) + " should read the marker next");
        expect_event(clients[i]->read_json(), id, "marker", std::nullopt, data);
    }
}

void expect_rest_error(const http_response& res, unsigned status, const std::string& code) {
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(res.header("Content-Type").rfind("application/json", 0), 0u)
        << "Content-Type: " << res.header("Content-Type");
    EXPECT_EQ(res.error_code(), code) << res.body;
    EXPECT_TRUE(res.json.is_object() && res.json.contains("error") &&
                res.json["error"].is_object() && res.json["error"].contains("message") &&
                res.json["error"]["message"].is_string())
        << res.body;
}

}  // namespace wsgate::test
