#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <wsgate/app/shared_state.hpp>
#include <wsgate/json/json_reader.hpp>

namespace wsgate {

/// What the REST handlers need of an HTTP request (the transport is not their business).
struct rest_request {
    std::string_view method;  ///< "GET", "POST", ...
    std::string_view path;    ///< target without the query string
    std::string_view content_type;
    std::string_view authorization;
    std::string_view body;
    std::string_view idempotency_key;  ///< the Idempotency-Key header; empty: none
    /// The query's parameters, decoded, in order (for GET /api/v1/history).
    std::vector<std::pair<std::string, std::string>> query;
};

struct rest_response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

struct metrics;
/// A JSON error answer {"error": {"code", "message"}}, counted in wsgate_errors_total.
rest_response error_response(metrics& stats, int status, std::string_view code,
                             std::string_view message, std::string_view source = "rest");

/// The token of an `Authorization: Bearer <token>` header; empty when there is none.
std::string_view bearer_token(std::string_view authorization);

/// Which routes a listener serves.
enum class listener_role {
    public_and_api,  ///< one listener for everything (the default)
    public_only,     ///< WebSocket upgrades, /healthz, /readyz
    api_only,        ///< /api/..., /metrics, /healthz, /readyz
};

/// The REST API (docs/openapi.yaml): publish, batch publish, health, readiness, metrics.
/// I/O-free: takes a request, publishes to the bus, answers through a callback.
class rest_api {
public:
    using responder = std::function<void(rest_response)>;

    explicit rest_api(shared_state& state) : state_(state) {}

    /// Answers `req` through `respond`, exactly once: at once, or for a publish when the bus
    /// has accepted (202) or lost (503) the events. `req` need not outlive this call.
    void handle(const rest_request& req, listener_role role, responder respond);

    /// A JSON error response (docs/openapi.yaml), counted in wsgate_errors_total{source=...}:
    /// "rest" for the API, "handshake" for refused WebSocket upgrades.
    rest_response error(int status, std::string_view code, std::string_view message,
                        std::string_view source = "rest");

private:
    rest_response route(const rest_request& req, listener_role role);
    rest_response check_post(const rest_request& req);
    rest_response check_key(const rest_request& req);
    /// Validates a publish (`batch`: an array of them) into envelopes, or answers an error.
    rest_response parse_events(const rest_request& req, bool batch, std::vector<envelope>& out,
                               std::vector<std::string>& keys);
    /// The 400 invalid_json answer for a body (`what`) the JSON reader refused.
    rest_response bad_json(const json_input::error& e, std::string_view what);
    /// Parses what a publish adds besides its events: each event's idempotency key ("" none).
    rest_response idempotency_keys(const rest_request& req, bool batch,
                                   const std::vector<std::string>& in_body,
                                   std::vector<std::string>& out);
    void publish(std::vector<envelope> events, std::vector<std::string> keys, bool batch,
                 responder respond);
    /// GET and DELETE /api/v1/history (src/api/history_endpoint.cpp).
    void history(const rest_request& req, responder respond);
    /// The publish rate bucket of the request's API key; null when publishing is not limited.
    token_bucket* publish_bucket(const rest_request& req);
    rest_response rate_limited(std::chrono::milliseconds wait);

    shared_state& state_;
};

}  // namespace wsgate
