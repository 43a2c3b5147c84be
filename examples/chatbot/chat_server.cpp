#include "chat_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "bot.hpp"
#include "signature.hpp"
#include "ws_chat_session.hpp"

namespace chatbot {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using boost::system::error_code;

/// A keep-alive connection with nothing to read for this long is closed.
constexpr std::chrono::seconds idle_timeout{120};
constexpr std::chrono::seconds write_timeout{10};
/// Largest webhook body (the gateway's largest max_bytes plus the envelope).
constexpr std::uint64_t max_body_bytes = 17 * 1024 * 1024;
constexpr std::chrono::milliseconds accept_retry{100};
/// The path of the WebSocket endpoint (the gateway's `websocket` transport).
constexpr const char* ws_chat_path = "/ws-chat";
/// The path of the example subscribe check (docs/security.md).
constexpr const char* subscribe_check_path = "/subscribe-check";

/// One connection from the gateway: read a request, answer it (maybe after a delay), then read
/// the next. Requests on other connections proceed meanwhile. A signed WebSocket upgrade to
/// /ws-chat hands the connection over to a ws_chat_session.
class webhook_session : public std::enable_shared_from_this<webhook_session> {
  public:
    webhook_session(tcp::socket socket, const std::string& secret, gateway_client& gateway,
                    std::size_t& open_websockets)
        : stream_(std::move(socket)),
          delay_timer_(stream_.get_executor()),
          secret_(secret),
          gateway_(gateway),
          open_websockets_(open_websockets) {}

    void start() { read_request(); }

  private:
    void read_request() {
        parser_.emplace();
        parser_->body_limit(max_body_bytes);
        stream_.expires_after(idle_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&webhook_session::on_read, shared_from_this()));
    }

    void on_read(error_code ec, std::size_t) {
        if (ec) return close();  // end of stream, idle timeout or a malformed request
        const auto& request = parser_->get();
        version_ = request.version();
        keep_alive_ = request.keep_alive();
        if (websocket::is_upgrade(request)) return upgrade();
        handle(request);
    }

    /// A WebSocket upgrade: refused unless to /ws-chat and signed; else the stream moves on.
    void upgrade() {
        const auto& request = parser_->get();
        if (request.target() != ws_chat_path) {
            return send(404, error_body("no WebSocket endpoint here"));
        }
        const bool signed_ok = handshake_signature_valid(
            secret_, request["X-Wsgate-Timestamp"], request["X-Wsgate-Connection"],
            request["X-Wsgate-User"], request["X-Wsgate-Signature"],
            std::chrono::system_clock::now());
        if (!signed_ok) {
            keep_alive_ = false;
            return send(401, error_body("bad signature"));
        }
        start_ws_chat(std::move(stream_), parser_->release(), open_websockets_);
    }

    void handle(const http::request<http::string_body>& request) {
        if (request.method() == http::verb::get && request.target() == "/stats") {
            return send(200, {{"websockets", open_websockets_}});
        }
        if (!signed_by_gateway(request)) {
            return send(401, error_body("bad signature"));
        }
        const auto message = parse_message(request.body());
        if (!message) {
            return send(400, error_body("body is not a wsgate service message"));
        }
        if (request.target() == subscribe_check_path) {
            const answer verdict = check_subscription(*message);
            return send(verdict.status, verdict.body);
        }
        const answer reply = answer_for(*message);
        if (reply.then != follow_up::none) {
            publish_after_write_ = publish_body(reply.then, *message);
        }
        if (reply.delay.count() > 0) {
            return send_later(reply);
        }
        send(reply.status, reply.body);
    }

    bool signed_by_gateway(const http::request<http::string_body>& request) const {
        return signature_valid(secret_, request["X-Wsgate-Timestamp"], request.body(),
                               request["X-Wsgate-Signature"], std::chrono::system_clock::now());
    }

    /// Answers after reply.delay with a timer: the io_context keeps serving other connections.
    void send_later(const answer& reply) {
        delay_timer_.expires_after(reply.delay);
        delay_timer_.async_wait(
            [self = shared_from_this(), status = reply.status, body = reply.body](error_code ec) {
                if (!ec) self->send(status, body);
            });
    }

    void send(unsigned status, const nlohmann::json& body) {
        response_ = {};
        response_.result(status);
        response_.version(version_);
        response_.keep_alive(keep_alive_);
        response_.set(http::field::server, "wsgate-chatbot");
        if (!body.is_null()) {
            response_.set(http::field::content_type, "application/json");
            response_.body() = body.dump();
        }
        response_.prepare_payload();
        stream_.expires_after(write_timeout);
        http::async_write(stream_, response_,
                          beast::bind_front_handler(&webhook_session::on_write,
                                                    shared_from_this()));
    }

    /// The answer is out: start the follow-up call, then wait for the next request.
    void on_write(error_code ec, std::size_t) {
        if (publish_after_write_) {
            gateway_.publish(*publish_after_write_);
            publish_after_write_.reset();
        }
        if (ec || !keep_alive_) return close();
        read_request();
    }

    void close() {
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    net::steady_timer delay_timer_;
    const std::string& secret_;
    gateway_client& gateway_;
    std::size_t& open_websockets_;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    std::optional<nlohmann::json> publish_after_write_;
};

/// The first address `address` resolves to (an IP address, or a name such as localhost).
tcp::endpoint endpoint_of(net::io_context& ioc, const host_port& address) {
    tcp::resolver resolver(ioc);
    const auto results = resolver.resolve(address.host, std::to_string(address.port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service);
    return results.begin()->endpoint();
}

}  // namespace

chat_server::chat_server(net::io_context& ioc, const options& opts, gateway_client& gateway)
    : acceptor_(ioc), retry_timer_(ioc), secret_(opts.secret), gateway_(gateway) {
    const tcp::endpoint endpoint = endpoint_of(ioc, opts.listen);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
}

void chat_server::do_accept() {
    acceptor_.async_accept(beast::bind_front_handler(&chat_server::on_accept, this));
}

void chat_server::on_accept(error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
        std::cerr << "chatbot: accept: " << ec.message() << std::endl;
        return retry_accept_later();
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<webhook_session>(std::move(socket), secret_, gateway_, open_websockets_)
        ->start();
    do_accept();
}

void chat_server::retry_accept_later() {
    retry_timer_.expires_after(accept_retry);
    retry_timer_.async_wait([this](error_code ec) {
        if (!ec) do_accept();
    });
}

}  // namespace chatbot
