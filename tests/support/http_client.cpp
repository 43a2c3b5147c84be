#include "http_client.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <thread>

#include "polling.hpp"
#include "prometheus_text.hpp"
#include "test_io.hpp"

namespace wsgate::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// Starts one asynchronous step, runs the context until it completes (tcp_stream's own
/// expiry bounds it) and throws io_failure when it failed.
template <class Start>
void run_step(asio::io_context& ioc, const std::string& what, Start start) {
    std::optional<error_code> result;
    start([&result](error_code ec, auto&&...) { result = ec; });
    run_until(
        ioc, [&result] { return result.has_value(); }, std::chrono::seconds(60));
    if (!result) {
        throw io_failure("HTTP " + what + ": no completion");
    }
    if (*result) {
        throw io_failure("HTTP " + what + ": " + result->message());
    }
}

}  // namespace

std::optional<http_response> take_http_response(std::string& bytes, bool head) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);
    parser.eager(true);
    std::size_t used = 0;
    while (!parser.is_done() && used < bytes.size()) {
        error_code ec;
        used += parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        if (ec == http::error::need_more) {
            return std::nullopt;
        }
        if (ec) {
            throw io_failure("not an HTTP response (" + ec.message() +
                             "): " + bytes.substr(0, 200));
        }
    }
    if (!parser.is_done()) {
        return std::nullopt;
    }
    bytes.erase(0, used);
    return to_http_response(parser.release());
}

std::string http_response::header(const std::string& name) const {
    const auto it = headers.find(lower(name));
    return it == headers.end() ? std::string() : it->second;
}

bool http_response::has_header(const std::string& name) const {
    return headers.count(lower(name)) != 0;
}

std::string http_response::error_code() const {
    if (!json.is_object() || !json.contains("error") || !json["error"].is_object()) {
        return {};
    }
    const auto& code = json["error"]["code"];
    return code.is_string() ? code.get<std::string>() : std::string();
}

long long http_response::error_index() const {
    if (!json.is_object()) {
        return -1;
    }
    for (const auto* holder : {&json, json.contains("error") ? &json["error"] : &json}) {
        const auto it = holder->find("index");
        if (it != holder->end() && it->is_number_integer()) {
            return it->get<long long>();
        }
    }
    return -1;
}

http_client::http_client(std::uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

http_response http_client::request(const std::string& method, const std::string& target,
                                   const std::string& body, const header_list& headers) const {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout_);
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port_);
    const std::string what = method + " " + target;
    run_step(ioc, what + " (connect)",
             [&](auto handler) { stream.async_connect(endpoint, handler); });

    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    req.keep_alive(false);
    if (!api_key_.empty() && target.rfind("/api/", 0) == 0) {
        req.set(http::field::authorization, "Bearer " + api_key_);
    }
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    req.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT") {
        req.prepare_payload();
    }
    run_step(ioc, what + " (write)",
             [&](auto handler) { http::async_write(stream, req, handler); });

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(method == "HEAD");
    run_step(ioc, what + " (read)",
             [&](auto handler) { http::async_read(stream, buffer, parser, handler); });

    http_response out = to_http_response(parser.release());
    error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return out;
}

http_response http_client::post_json(const std::string& target, const std::string& body,
                                     const header_list& headers) const {
    header_list all{{"Content-Type", "application/json"}};
    all.insert(all.end(), headers.begin(), headers.end());
    return request("POST", target, body, all);
}

http_response http_client::publish(const nlohmann::json& event) const {
    return post_json("/api/v1/publish", event.dump());
}

http_response http_client::publish_batch(const nlohmann::json& events) const {
    return post_json("/api/v1/publish/batch", events.dump());
}

std::string http_client::publish_ok(const nlohmann::json& event) const {
    const auto res = publish(event);
    if (res.status != 202 || !res.json.is_object() || !res.json.contains("id") ||
        !res.json["id"].is_string()) {
        throw io_failure("publish " + event.dump().substr(0, 200) + " answered " +
                         std::to_string(res.status) + " " + res.body);
    }
    return res.json["id"].get<std::string>();
}

std::vector<std::string> http_client::publish_batch_ok(const nlohmann::json& events) const {
    const auto res = publish_batch(events);
    if (res.status != 202 || !res.json.is_object() || !res.json.contains("ids") ||
        !res.json["ids"].is_array()) {
        throw io_failure("batch publish of " + std::to_string(events.size()) + " events answered " +
                         std::to_string(res.status) + " " + res.body.substr(0, 500));
    }
    return res.json["ids"].get<std::vector<std::string>>();
}

double http_client::metric(const std::string& series) const {
    const auto res = get("/metrics");
    if (res.status != 200) {
        throw io_failure("GET /metrics answered " + std::to_string(res.status));
    }
    return find_series(res.body, series).value_or(-1.0);
}

double http_client::wait_metric(const std::string& series, double expected,
                                std::chrono::milliseconds timeout) const {
    double value = -1;
    wait_until([&] { return (value = metric(series)) == expected; }, timeout);
    return value;
}

double metric(std::uint16_t port, const std::string& series) {
    return http_client(port).metric(series);
}

http_response to_http_response(boost::beast::http::response<boost::beast::http::string_body> res) {
    http_response out;
    out.status = res.result_int();
    for (const auto& field : res) {
        out.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    }
    out.body = std::move(res.body());
    out.json = nlohmann::json::parse(out.body, nullptr, false);
    return out;
}

long long slowest_healthz_ms(std::uint16_t port, std::chrono::milliseconds during) {
    long long worst = 0;
    for (const auto end = std::chrono::steady_clock::now() + during;
         std::chrono::steady_clock::now() < end;) {
        const auto start = std::chrono::steady_clock::now();
        long long took = 2000;
        try {
            if (http_client(port, std::chrono::seconds(2)).get("/healthz").status == 200)
                took = elapsed_ms(start);
        } catch (const std::exception&) {
        }
        worst = std::max(worst, took);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return worst;
}

}  // namespace wsgate::test
