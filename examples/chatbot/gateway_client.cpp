#include "gateway_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <iostream>
#include <memory>

namespace chatbot {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr std::chrono::seconds call_timeout{5};
constexpr const char* publish_path = "/api/v1/publish";

/// One POST to the gateway: resolve, connect, write, read, report.
class publish_call : public std::enable_shared_from_this<publish_call> {
  public:
    publish_call(net::io_context& ioc, host_port gateway, const std::string& api_key,
                 const nlohmann::json& body)
        : resolver_(ioc), stream_(ioc), gateway_(std::move(gateway)) {
        request_.method(http::verb::post);
        request_.target(publish_path);
        request_.version(11);
        request_.set(http::field::host, gateway_.host + ":" + std::to_string(gateway_.port));
        request_.set(http::field::content_type, "application/json");
        if (!api_key.empty()) {
            request_.set(http::field::authorization, "Bearer " + api_key);
        }
        request_.keep_alive(false);
        request_.body() = body.dump();
        request_.prepare_payload();
    }

    void start() {
        resolver_.async_resolve(gateway_.host, std::to_string(gateway_.port),
                                beast::bind_front_handler(&publish_call::on_resolve,
                                                          shared_from_this()));
    }

  private:
    void on_resolve(error_code ec, const tcp::resolver::results_type& endpoints) {
        if (ec) return report("resolve", ec);
        stream_.expires_after(call_timeout);
        stream_.async_connect(endpoints, beast::bind_front_handler(&publish_call::on_connect,
                                                                   shared_from_this()));
    }

    void on_connect(error_code ec, const tcp::endpoint&) {
        if (ec) return report("connect", ec);
        http::async_write(stream_, request_,
                          beast::bind_front_handler(&publish_call::on_write, shared_from_this()));
    }

    void on_write(error_code ec, std::size_t) {
        if (ec) return report("write", ec);
        http::async_read(stream_, buffer_, response_,
                         beast::bind_front_handler(&publish_call::on_read, shared_from_this()));
    }

    void on_read(error_code ec, std::size_t) {
        if (ec) return report("read", ec);
        std::cerr << "chatbot: POST " << publish_path << " " << request_.body() << " answered "
                  << response_.result_int() << " " << response_.body() << std::endl;
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    void report(const char* step, error_code ec) const {
        std::cerr << "chatbot: POST " << publish_path << " to " << gateway_.host << ":"
                  << gateway_.port << " failed (" << step << "): " << ec.message() << std::endl;
    }

    tcp::resolver resolver_;
    beast::tcp_stream stream_;
    host_port gateway_;
    http::request<http::string_body> request_;
    beast::flat_buffer buffer_;
    http::response<http::string_body> response_;
};

}  // namespace

gateway_client::gateway_client(net::io_context& ioc, std::optional<host_port> gateway,
                               std::string api_key)
    : ioc_(ioc), gateway_(std::move(gateway)), api_key_(std::move(api_key)) {}

void gateway_client::publish(const nlohmann::json& body) {
    if (!gateway_) {
        std::cerr << "chatbot: no --gateway given; dropping " << body.dump() << std::endl;
        return;
    }
    std::make_shared<publish_call>(ioc_, *gateway_, api_key_, body)->start();
}

}  // namespace chatbot
