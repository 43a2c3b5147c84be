#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <wsgate/api/rest_api.hpp>
#include <wsgate/app/shared_state.hpp>

namespace wsgate {

class tls_stream;

/// One accepted TCP connection speaking HTTP/1.1: answers REST requests (keep-alive) until the
/// peer leaves, or hands the socket to a ws_session when a request is a WebSocket upgrade.
///
/// `Stream` is the TCP socket itself (http, ws), or a tls_stream (https, wss): its TLS
/// handshake comes first, and an upgrade hands its TLS state over with the socket. One timer
/// bounds every wait: the TLS handshake and the first request together take at most
/// timeouts.handshake, a later request on a keep-alive connection timeouts.http_idle.
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
public:
    http_session(Stream stream, std::shared_ptr<shared_state> state, listener_role role);

    void start();

private:
    using request_type = boost::beast::http::request<boost::beast::http::string_body>;
    using response_type = boost::beast::http::response<boost::beast::http::string_body>;

    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

    boost::asio::ip::tcp::socket& socket();
    /// Closes the socket when `timeout` passes (before the next arm()).
    void arm(std::chrono::steady_clock::duration timeout);
    void on_tls_handshake(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t n);
    void upgrade(request_type request);
    /// The client's address: the peer's, or the one a trusted proxy names.
    std::string client_address(const request_type& request);
    /// The HTTP response for `r`, counted in the request metrics.
    response_type make_response(const rest_response& r, bool keep_alive, bool head);
    void respond(const rest_response& r, bool keep_alive, bool head);
    void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t n);
    void linger();
    void drain();

    Stream stream_;
    boost::asio::steady_timer deadline_;
    std::uint64_t deadline_arms_ = 0;  ///< tells a current expiry from one already overtaken
    bool timed_out_ = false;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<shared_state> state_;
    listener_role role_;
    rest_api api_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    response_type response_;
    std::string query_token_;  ///< a ?token= parameter, decoded
    bool first_request_ = true;
};

}  // namespace wsgate
