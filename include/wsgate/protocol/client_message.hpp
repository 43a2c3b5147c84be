#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

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

enum class request_type { subscribe, unsubscribe, ping, send, publish, auth, refresh };

/// One well-formed client request.
struct client_request {
    request_type type = request_type::ping;
    std::string channel;            ///< subscribe / unsubscribe / publish
    std::string service;            ///< send: the service's name
    std::string event;              ///< publish: the event's name
    std::string data = "null";      ///< send, publish: the message, as JSON text
    std::string token;              ///< auth / refresh: a JWT
    std::optional<std::string> id;  ///< the request's `id`, as JSON text, echoed verbatim
};

/// A request that could not be accepted, with the `id` when it could be read.
struct request_error {
    client_error code = client_error::invalid_json;
    std::string message;
    std::optional<std::string> id;
};

using parse_result = std::variant<client_request, request_error>;

/// Parses one client text message. Never throws: every malformed input maps to a request_error.
parse_result parse_client_message(std::string_view text, const name_rules& channels);

}  // namespace wsgate::protocol
