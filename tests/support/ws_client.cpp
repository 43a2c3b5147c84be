#include "ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>

#include <gtest/gtest.h>

#include "test_io.hpp"

namespace wsgate::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

/// run_op(), with beast::error::timeout when the time ran out.
template <class Start>
error_code run_or_timeout(asio::io_context& ioc, asio::ip::tcp::socket& socket,
                  std::chrono::milliseconds timeout, Start start) {
    return test::run_op(ioc, socket, timeout, start).value_or(beast::error::timeout);
}

}  // namespace

ws_client::ws_client(std::chrono::milliseconds receive_timeout)
    : ws_(ioc_), timeout_(receive_timeout) {}

ws_client::~ws_client() {
    error_code ignored;
    ws_.next_layer().close(ignored);
    ioc_.restart();
    ioc_.poll();  // let cancelled handlers run before the stream goes away
}

handshake_result ws_client::try_connect(std::uint16_t port, const std::string& target) {
    auto& socket = ws_.next_layer();
    socket.open(asio::ip::tcp::v4());
    if (receive_buffer_ > 0) {
        socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer_));
    }
    if (!local_address_.empty()) {
        socket.bind(asio::ip::tcp::endpoint(asio::ip::make_address(local_address_), 0));
    }
    if (!handshake_headers_.empty()) {
        ws_.set_option(websocket::stream_base::decorator(
            [headers = handshake_headers_](websocket::request_type& req) {
                for (const auto& [name, value] : headers) {
                    req.set(name, value);
                }
            }));
    }
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
    auto ec = run_or_timeout(ioc_, socket, timeout_,
                     [&](auto handler) { socket.async_connect(endpoint, handler); });
    if (ec) {
        throw io_failure("connect to port " + std::to_string(port) + ": " + ec.message());
    }
    websocket::response_type response;
    const std::string host = "127.0.0.1:" + std::to_string(port);
    ec = run_or_timeout(ioc_, socket, timeout_,
                [&](auto handler) { ws_.async_handshake(response, host, target, handler); });
    extensions_ = std::string(response[boost::beast::http::field::sec_websocket_extensions]);
    return handshake_result{!ec, response.result_int(), response.body(), extensions_, ec};
}

void ws_client::offer_permessage_deflate() {
    websocket::permessage_deflate options;
    options.client_enable = true;
    ws_.set_option(options);
}

nlohmann::json ws_client::connect(std::uint16_t port, const std::string& target) {
    const auto result = try_connect(port, target);
    if (!result.upgraded) {
        throw io_failure("WebSocket upgrade at " + target + " refused: HTTP " +
                         std::to_string(result.status) + " " + result.body + " (" +
                         result.error.message() + ")");
    }
    try {
        welcome_ = read_json();
    } catch (const io_failure& e) {
        throw io_failure(std::string("waiting for the welcome frame: ") + e.what());
    }
    if (!welcome_.is_object() || welcome_.value("type", "") != "welcome") {
        throw io_failure("first frame is not a welcome: " + welcome_.dump());
    }
    return welcome_;
}

std::string ws_client::connection_id() const {
    const auto it = welcome_.find("connection");
    return it != welcome_.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void ws_client::require_no_pending_read(const char* operation) const {
    if (read_pending_) {
        throw std::logic_error(std::string(operation) + " while a read is pending");
    }
}

void ws_client::send_text(const std::string& text) {
    require_no_pending_read("send_text");
    ws_.text(true);
    error_code ec;
    ws_.write(asio::buffer(text), ec);
    if (ec) {
        throw io_failure("WebSocket write: " + ec.message());
    }
}

void ws_client::send_binary(const std::string& bytes) {
    require_no_pending_read("send_binary");
    ws_.binary(true);
    error_code ec;
    ws_.write(asio::buffer(bytes), ec);
    ws_.text(true);
    if (ec) {
        throw io_failure("WebSocket write: " + ec.message());
    }
}

void ws_client::start_read() {
    if (read_pending_) {
        return;
    }
    read_pending_ = true;
    read_result_.reset();
    ws_.async_read(buffer_, [this](error_code ec, std::size_t) { read_result_ = ec; });
}

bool ws_client::finish_read(std::chrono::milliseconds timeout) {
    const bool done = run_until(
        ioc_, [this] { return read_result_.has_value(); }, timeout);
    if (done) {
        read_pending_ = false;
    }
    return done;
}

std::string ws_client::take_text() {
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return text;
}

void ws_client::read_frame() {
    start_read();
    if (!finish_read(timeout_)) {
        error_code ignored;
        ws_.next_layer().cancel(ignored);
        finish_read(std::chrono::seconds(1));
        throw io_failure("no WebSocket frame within " + std::to_string(timeout_.count()) + " ms");
    }
}

nlohmann::json ws_client::read_json() {
    read_frame();
    return completed_frame();
}

std::string ws_client::read_text() {
    read_frame();
    return completed_text();
}

std::string ws_client::completed_text() {
    if (*read_result_) {
        std::string detail = read_result_->message();
        if (*read_result_ == websocket::error::closed) {
            detail += " (code " + std::to_string(ws_.reason().code) + " \"" +
                      std::string(ws_.reason().reason.c_str()) + "\")";
        }
        throw io_failure("WebSocket read: " + detail);
    }
    return take_text();
}

nlohmann::json ws_client::completed_frame() {
    const std::string text = completed_text();
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded()) {
        throw io_failure("frame is not JSON: " + text.substr(0, 200));
    }
    return parsed;
}

std::optional<nlohmann::json> ws_client::poll_json_for(std::chrono::milliseconds duration) {
    start_read();
    if (!finish_read(duration)) {
        return std::nullopt;  // the read stays pending
    }
    return completed_frame();
}

close_info ws_client::read_until_close(std::size_t max_frames) {
    close_info info;
    while (info.frames.size() < max_frames) {
        start_read();
        if (!finish_read(timeout_)) {
            error_code ignored;
            ws_.next_layer().cancel(ignored);
            finish_read(std::chrono::seconds(1));
            throw io_failure("connection still open after " + std::to_string(timeout_.count()) +
                             " ms without a frame (" + std::to_string(info.frames.size()) +
                             " frames read)");
        }
        if (*read_result_) {
            info.error = *read_result_;
            // A close frame may have been read even when answering it failed (the server may
            // have dropped the TCP connection right after sending it).
            info.close_frame = *read_result_ == websocket::error::closed || ws_.reason().code != 0;
            info.code = static_cast<std::uint16_t>(ws_.reason().code);
            info.reason = ws_.reason().reason.c_str();
            return info;
        }
        info.frames.push_back(nlohmann::json::parse(take_text(), nullptr, false));
    }
    throw io_failure("connection still open after " + std::to_string(max_frames) + " frames");
}

nlohmann::json ws_client::request(nlohmann::json message) {
    if (!message.contains("id")) {
        message["id"] = next_id_++;
    }
    send_json(message);
    return read_json();
}

void ws_client::subscribe(const std::string& channel) {
    const long long id = next_id_;
    const auto reply = request({{"type", "subscribe"}, {"channel", channel}});
    EXPECT_EQ(reply, (nlohmann::json{{"type", "ack"}, {"id", id}})) << "subscribe " << channel;
}

void ws_client::unsubscribe(const std::string& channel) {
    const long long id = next_id_;
    const auto reply = request({{"type", "unsubscribe"}, {"channel", channel}});
    EXPECT_EQ(reply, (nlohmann::json{{"type", "ack"}, {"id", id}})) << "unsubscribe " << channel;
}

bool ws_client::ping() {
    const long long id = next_id_;
    const auto reply = request({{"type", "ping"}});
    return reply == nlohmann::json{{"type", "pong"}, {"id", id}};
}

void ws_client::close() {
    require_no_pending_read("close");
    auto& socket = ws_.next_layer();
    run_or_timeout(ioc_, socket, timeout_,
           [&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
    error_code ignored;
    socket.close(ignored);
}

void connect_all(std::uint16_t port, std::initializer_list<ws_client*> clients) {
    for (ws_client* client : clients) {
        client->connect(port);
    }
}

std::vector<std::unique_ptr<ws_client>> connect_clients(std::uint16_t port, int count,
                                                        const std::string& channel) {
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<ws_client>());
        clients.back()->connect(port);
        if (!channel.empty()) {
            clients.back()->subscribe(channel);
        }
    }
    return clients;
}

std::vector<ws_client*> client_pointers(const std::vector<std::unique_ptr<ws_client>>& clients) {
    std::vector<ws_client*> pointers;
    for (const auto& client : clients) {
        pointers.push_back(client.get());
    }
    return pointers;
}

}  // namespace wsgate::test
