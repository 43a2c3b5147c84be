#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wsgate/bus/envelope.hpp>
#include <wsgate/history/stream.hpp>

namespace wsgate::protocol {

/// JSON texts of the gateway-to-client frames (docs/protocol.md). `id` arguments are the
/// request's id as JSON text (see client_request::id); `data` is a JSON text passed through.

/// With the user's stream (history.user_size): its position, and whether the `recover` the
/// client gave got every missed event (absent without one).
std::string welcome_message(std::string_view connection_id, std::string_view user,
                            std::chrono::milliseconds heartbeat,
                            const std::optional<history::position>& user_stream = std::nullopt,
                            std::optional<bool> recovered = std::nullopt);
std::string ack_message(const std::optional<std::string>& id);
std::string pong_message(const std::optional<std::string>& id);
std::string error_message(const std::optional<std::string>& id, std::string_view code,
                          std::string_view message);
/// `channel` empty: the event was not published to a channel (no `channel` field); offset 0
/// in `at`: its stream keeps no history (no `epoch` and `offset` fields).
std::string event_message(std::string_view channel, std::string_view event,
                          std::string_view event_id, std::string_view data,
                          const history::position& at = {});
/// The frame a client receives for `e`: an event, a service's message or reply.
std::string client_text(const envelope& e);

/// The ack of a subscribe to a channel with history: its position, and with `recover` whether
/// every missed event follows.
std::string subscribe_ack_message(const std::optional<std::string>& id,
                                  const history::position& at, std::optional<bool> recovered);
/// The ack of a client's publish on a channel with history: the event's place.
std::string publish_ack_message(const std::optional<std::string>& id,
                                const history::position& at);
/// The answer to a `history` request: the channel's position and the events (oldest first);
/// `complete` false: the position asked about is no longer in history (no events then).
std::string history_message(const std::optional<std::string>& id, std::string_view channel,
                            const history::read_result& r);
/// Events of `channel` that the gateway could not deliver and cannot recover: those after
/// `after` (when known) up to and including `upto` (when known). Live events after `upto`
/// follow; the client reloads what it shows of the channel (docs/history.md, "Gaps").
std::string gap_message(std::string_view channel, const std::optional<history::position>& after,
                        const std::optional<history::position>& upto);
/// The same for the stream of events published to `user` (history.user_size).
std::string user_gap_message(std::string_view user, const std::optional<history::position>& after,
                             const std::optional<history::position>& upto);

/// A message a service pushes to the client.
std::string service_message(std::string_view service, std::string_view data);
/// A service's answer to the client's request `id` (JSON text).
std::string reply_message(std::string_view id, std::string_view service, std::string_view data);

}  // namespace wsgate::protocol
