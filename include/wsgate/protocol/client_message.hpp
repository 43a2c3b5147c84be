#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <wsgate/json/json_reader.hpp>

namespace wsgate::protocol {

/// The stable error codes of the client protocol (docs/protocol.md).
enum class client_error {
    invalid_json,
    not_an_object,
    missing_field,
    invalid_field,
    unknown_type,
    invalid_channel,
    too_many_subscriptions,
    not_subscribed,
    unknown_service,
    forbidden,
    too_large,
    service_unavailable,
    service_busy,
    timeout,
    rejected,
    rate_limited,
    unauthorized,
};

/// The code as it appears in `error` frames and metric labels.
const char* to_string(client_error e);

/// What a channel name (and a user id) may look like.
struct name_rules {
    std::size_t max_length = 128;
    std::string extra_chars = "-_.:@/=";  ///< allowed besides ASCII letters and digits

    bool valid(std::string_view name) const;
    /// A human description for error messages.
    std::string describe(std::string_view what) const;
};

/// A backend service's name: 1-64 characters of [a-z0-9_-].
bool valid_service_name(std::string_view name);

enum class request_type { subscribe, unsubscribe, ping, send, publish, auth, refresh, history };

/// A stream position a client saw last (docs/history.md): what `recover` and `history` take.
struct stream_position {
    std::string epoch;
    std::uint64_t offset = 0;
};

/// One well-formed client request.
struct client_request {
    request_type type = request_type::ping;
    std::string channel;            ///< subscribe / unsubscribe / publish
    std::string service;            ///< send: the service's name
    std::string event;              ///< publish: the event's name
    std::string data = "null";      ///< send, publish: the message, as JSON text
    std::string token;              ///< auth / refresh: a JWT
    /// subscribe, auth: the position to recover from; history: the position to read after.
    std::optional<stream_position> since;
    std::optional<std::size_t> limit;  ///< history: events wanted at most
    std::optional<std::string> id;  ///< the request's `id`, as JSON text, echoed verbatim
};

/// A request that could not be accepted, with the `id` when it could be read.
struct request_error {
    client_error code = client_error::invalid_json;
    std::string message;
    std::optional<std::string> id;
    bool too_deep = false;  ///< invalid_json because of limits.json_max_depth
};

using parse_result = std::variant<client_request, request_error>;

/// How deeply arrays and objects may nest in a value of a message (limits.json_max_depth).
inline constexpr std::size_t default_json_max_depth = 64;

/// Parses one client text message. Never throws and never recurses: every malformed input
/// (also one nesting arrays and objects deeper than `max_depth` levels in a value) maps to a
/// request_error. `data` is kept exactly as the client wrote it.
parse_result parse_client_message(std::string_view text, const name_rules& channels,
                                  std::size_t max_depth = default_json_max_depth);

/// A request id (`id` of a client request, `reply_to.id` of a publish): a number, or a string
/// of at most 64 characters (characters, not bytes). `unescaped`: the string's value.
bool valid_request_id(const json_input::raw_value& id, std::string_view unescaped);

/// The error text for input nested deeper than `max_depth` (names the configuration key).
std::string too_deep_message(std::size_t max_depth);

}  // namespace wsgate::protocol
