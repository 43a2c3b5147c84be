#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {

/// Publish bodies for each kind of target.
nlohmann::json channel_event(const std::string& channel, const std::string& event,
                             const nlohmann::json& data = nullptr);
nlohmann::json user_event(const std::string& user, const std::string& event,
                          const nlohmann::json& data = nullptr);
nlohmann::json connection_event(const std::string& connection, const std::string& event,
                                const nlohmann::json& data = nullptr);
nlohmann::json broadcast_event(const std::string& event, const nlohmann::json& data = nullptr);

/// Records a test failure unless `frame` is the event frame `id` named `event`, with `channel`
/// (or without any channel field when `channel` is nullopt) and `data`.
void expect_event(const nlohmann::json& frame, const std::string& id, const std::string& event,
                  const std::optional<std::string>& channel, const nlohmann::json& data = nullptr);

/// Publishes a broadcast `marker` event and checks that it is the very next frame each of
/// `clients` reads. This proves that nothing else was delivered to them before it: the way to
/// assert "did not receive" without waiting for a timeout.
void expect_marker_next(const http_client& api, const std::vector<ws_client*>& clients);

/// Records a failure unless `res` is a JSON error answer (`{"error":{"code","message"}}`, JSON
/// content type) with `status` and `code`.
void expect_rest_error(const http_response& res, unsigned status, const std::string& code);

}  // namespace wsgate::test
