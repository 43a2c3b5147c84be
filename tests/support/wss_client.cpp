#include "wss_client.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <optional>

#include "test_io.hpp"

namespace wsgate::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;

/// run_op() that throws io_failure naming `what` when the operation fails or times out.
template <class Start>
void run_step(asio::io_context& ioc, asio::ip::tcp::socket& socket,
              std::chrono::milliseconds timeout, const std::string& what, Start start) {
    const auto result = run_op(ioc, socket, timeout, start);
    if (!result)
        throw io_failure(what + ": no answer within " + std::to_string(timeout.count()) + " ms");
    if (*result) throw io_failure(what + ": " + result->message());
}

ssl::context client_context(const std::string& ca_file) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.set_verify_callback(ssl::host_name_verification("localhost"));
    return ctx;
}

void open_socket(asio::io_context& ioc, asio::ip::tcp::socket& socket, std::uint16_t port,
                 std::chrono::milliseconds timeout) {
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
    run_step(ioc, socket, timeout, "connect to port " + std::to_string(port),
             [&](auto handler) { socket.async_connect(endpoint, handler); });
}

template <class Stream>
void tls_handshake(asio::io_context& ioc, Stream& stream, std::chrono::milliseconds timeout) {
    SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
    run_step(ioc, stream.next_layer(), timeout, "TLS handshake", [&](auto handler) {
        stream.async_handshake(ssl::stream_base::client, handler);
    });
}

}  // namespace

wss_client::wss_client(const std::string& ca_file, std::chrono::milliseconds timeout)
    : ctx_(client_context(ca_file)), ws_(ioc_, ctx_), timeout_(timeout) {}

wss_client::~wss_client() {
    error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
    ioc_.restart();
    ioc_.poll();
}

void wss_client::connect_tls(std::uint16_t port) {
    auto& socket = beast::get_lowest_layer(ws_);
    socket.open(asio::ip::tcp::v4());
    if (receive_buffer_ > 0)
        socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer_));
    open_socket(ioc_, socket, port, timeout_);
    tls_handshake(ioc_, ws_.next_layer(), timeout_);
}

nlohmann::json wss_client::connect(std::uint16_t port, const std::string& target) {
    connect_tls(port);
    run_step(ioc_, beast::get_lowest_layer(ws_), timeout_, "WebSocket upgrade", [&](auto h) {
        ws_.async_handshake("localhost:" + std::to_string(port), target, h);
    });
    auto welcome = read_json();
    if (welcome.value("type", "") != "welcome")
        throw io_failure("first frame is not a welcome: " + welcome.dump());
    return welcome;
}

void wss_client::send_json(const nlohmann::json& message) {
    const std::string text = message.dump();
    ws_.text(true);
    run_step(ioc_, beast::get_lowest_layer(ws_), timeout_, "WebSocket write",
             [&](auto h) { ws_.async_write(asio::buffer(text), h); });
}

nlohmann::json wss_client::read_json() {
    run_step(ioc_, beast::get_lowest_layer(ws_), timeout_, "WebSocket read",
             [&](auto h) { ws_.async_read(buffer_, h); });
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded()) throw io_failure("frame is not JSON: " + text.substr(0, 200));
    return parsed;
}

void wss_client::subscribe(const std::string& channel) {
    const long long id = next_id_++;
    send_json({{"type", "subscribe"}, {"channel", channel}, {"id", id}});
    const auto answer = read_json();
    if (answer.value("type", "") != "ack" || answer.value("id", -1LL) != id)
        throw io_failure("subscribe " + channel + ": " + answer.dump());
}

std::uint16_t wss_client::read_until_close(std::size_t max_frames) {
    for (std::size_t i = 0; i < max_frames; ++i) {
        try {
            read_json();
        } catch (const io_failure&) {
            return ws_.reason().code;
        }
    }
    throw io_failure("still open after " + std::to_string(max_frames) + " frames");
}

void wss_client::close() {
    run_step(ioc_, beast::get_lowest_layer(ws_), timeout_, "WebSocket close",
             [&](auto h) { ws_.async_close(beast::websocket::close_code::normal, h); });
}

std::string wss_client::peer_common_name() const {
    SSL* ssl_handle = const_cast<tls_socket&>(ws_.next_layer()).native_handle();
    X509* cert = SSL_get1_peer_certificate(ssl_handle);
    if (cert == nullptr) return {};
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
}

std::string wss_client::protocol() const {
    return SSL_get_version(const_cast<tls_socket&>(ws_.next_layer()).native_handle());
}

http_response wss_client::request(std::uint16_t port, const std::string& ca_file,
                                  const std::string& method, const std::string& target,
                                  const std::string& body, const header_list& headers) {
    const std::chrono::milliseconds timeout = std::chrono::seconds(5);
    asio::io_context ioc;
    ssl::context ctx = client_context(ca_file);
    tls_socket stream(ioc, ctx);
    open_socket(ioc, stream.next_layer(), port, timeout);
    tls_handshake(ioc, stream, timeout);

    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::connection, "close");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || method == "POST") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
    }
    run_step(ioc, stream.next_layer(), timeout, "HTTPS request",
             [&](auto h) { http::async_write(stream, req, h); });
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    run_step(ioc, stream.next_layer(), timeout, "HTTPS response",
             [&](auto h) { http::async_read(stream, buffer, res, h); });

    return to_http_response(std::move(res));
}

}  // namespace wsgate::test
