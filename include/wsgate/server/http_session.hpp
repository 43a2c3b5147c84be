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
    void make_parser();
    /// Handles the requests that are ready (pipelined ones already in buffer_ too), then writes
    /// their answers; reads when none is.
    void handle_requests();
    /// True when parser_ holds a complete request that this burst may handle now.
    bool next_request_ready();
    /// Parses buffer_ into parser_ without I/O: true once the request is complete; false when
    /// more bytes are needed, or `ec` says why they are not HTTP we can read.
    bool parse_buffered(boost::beast::error_code& ec);
    /// Upgrades to a WebSocket, or hands the request to the REST API.
    void handle_request(request_type req);
    /// 413 or 400 for a request that cannot be read (the connection closes after it).
    void answer_unreadable(boost::beast::error_code ec);
    void upgrade(request_type request);
    /// The client's address: the peer's, or the one a trusted proxy names.
    std::string client_address(const request_type& request);
    /// Takes a request's answer, at once or later (then writes the answers).
    void respond(const rest_response& r, bool keep_alive, bool head);
    /// Serializes an answer into out_, after those of earlier requests.
    void append_answer(const rest_response& r, bool keep_alive, bool head);
    void write_answers();
    void on_write(boost::beast::error_code ec, std::size_t n);
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
    std::string query_token_;  ///< a ?token= parameter, decoded
    bool first_request_ = true;
    boost::beast::flat_buffer out_;  ///< answers not yet written, in the order of the requests
    std::size_t answers_ = 0;        ///< how many answers out_ holds
    bool close_after_ = false;  ///< an answer in out_ closes the connection
    bool waiting_ = false;      ///< a request's answer comes later, through respond()
};

}  // namespace wsgate
