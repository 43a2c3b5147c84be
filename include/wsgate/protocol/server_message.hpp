#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::protocol {

/// JSON texts of the gateway-to-client frames (docs/protocol.md). `id` arguments are the
/// request's id as JSON text (see client_request::id); `data` is a JSON text passed through.

std::string welcome_message(std::string_view connection_id, std::string_view user,
                            std::chrono::milliseconds heartbeat);
std::string ack_message(const std::optional<std::string>& id);
std::string pong_message(const std::optional<std::string>& id);
std::string error_message(const std::optional<std::string>& id, std::string_view code,
                          std::string_view message);
/// `channel` empty: the event was not published to a channel (no `channel` field).
std::string event_message(std::string_view channel, std::string_view event,
                          std::string_view event_id, std::string_view data);

/// A message a service pushes to the client.
std::string service_message(std::string_view service, std::string_view data);
/// A service's answer to the client's request `id` (JSON text).
std::string reply_message(std::string_view id, std::string_view service, std::string_view data);

}  // namespace wsgate::protocol
