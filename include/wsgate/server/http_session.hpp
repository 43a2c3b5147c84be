#pragma once

#include <memory>
#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <wsgate/api/rest_api.hpp>
#include <wsgate/app/shared_state.hpp>

namespace wsgate {

/// One accepted TCP connection speaking HTTP/1.1: answers REST requests (keep-alive) until the
/// peer leaves, or hands the socket to a ws_session when a request is a WebSocket upgrade.
class http_session : public std::enable_shared_from_this<http_session> {
public:
    http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<shared_state> state,
                 listener_role role);

    void start();

private:
    using request_type = boost::beast::http::request<boost::beast::http::string_body>;
    using response_type = boost::beast::http::response<boost::beast::http::string_body>;

    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t n);
    void upgrade(request_type request);
    /// The client's address: the peer's, or the one a trusted proxy names.
    std::string client_address(const request_type& request);
    void respond(const rest_response& r, bool keep_alive, bool head);
    void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t n);
    void linger();
    void linger_read();

    boost::beast::tcp_stream stream_;
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
