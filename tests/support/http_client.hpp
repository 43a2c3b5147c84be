#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wsgate::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  ///< names in lower case
    std::string body;
    nlohmann::json json;  ///< the parsed body when it is JSON, else a discarded value

    /// The value of header `name` (any case), "" when absent.
    std::string header(const std::string& name) const;
    bool has_header(const std::string& name) const;
    /// `json["error"]["code"]`, or "" when the body is not a JSON error.
    std::string error_code() const;
    /// The `index` of a batch error (inside `error`, or beside it), or -1 when absent.
    long long error_index() const;
};

/// The parts of a Beast response that tests look at.
http_response to_http_response(boost::beast::http::response<boost::beast::http::string_body> res);

/// One-shot synchronous HTTP/1.1 requests to 127.0.0.1:port (a new connection each time,
/// `Connection: close`), every step bounded by a timeout. Connection failures and timeouts
/// throw io_failure.
class http_client {
  public:
    explicit http_client(std::uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Sends `Authorization: Bearer <key>` with every /api/ request from now on.
    void set_api_key(std::string key) { api_key_ = std::move(key); }

    http_response request(const std::string& method, const std::string& target,
                          const std::string& body = {}, const header_list& headers = {}) const;
    http_response get(const std::string& target) const { return request("GET", target); }
    /// POST with `Content-Type: application/json`.
    http_response post_json(const std::string& target, const std::string& body,
                            const header_list& headers = {}) const;

    /// POST /api/v1/publish with `event` serialized.
    http_response publish(const nlohmann::json& event) const;
    /// POST /api/v1/publish/batch with `events` (an array) serialized.
    http_response publish_batch(const nlohmann::json& events) const;
    /// publish() that must be answered 202; returns the event id (throws io_failure otherwise).
    std::string publish_ok(const nlohmann::json& event) const;
    /// publish_batch() that must be answered 202; returns the ids.
    std::vector<std::string> publish_batch_ok(const nlohmann::json& events) const;

    /// The value of one /metrics series (`name{label="v",...}`), or -1 when it is absent.
    double metric(const std::string& series) const;
    /// Polls metric(series) until it equals `expected` or `timeout` passes; returns the last
    /// value read (so `EXPECT_EQ(api.wait_metric(s, 1), 1)` shows what it was).
    double wait_metric(const std::string& series, double expected,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

    std::uint16_t port() const { return port_; }

  private:
    std::uint16_t port_;
    std::chrono::milliseconds timeout_;
    std::string api_key_;
};

/// When `bytes` starts with a complete HTTP response: removes it from `bytes` and returns it
/// (`head`: the answer to a HEAD request, which has no body). Throws io_failure when the bytes
/// are not an HTTP response.
std::optional<http_response> take_http_response(std::string& bytes, bool head = false);

/// The slowest answer, in milliseconds, to GET /healthz on `port`, asked every 20 ms for
/// `during` (a request that fails counts as 2000): whether the server's event loop was free.
long long slowest_healthz_ms(std::uint16_t port, std::chrono::milliseconds during);

/// GET /metrics on `port` and return the value of `series`, or -1 when it is absent.
double metric(std::uint16_t port, const std::string& series);

}  // namespace wsgate::test
