#include <wsgate/server/http_session.hpp>

#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/write.hpp>
#include <boost/beast/core/ostream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <spdlog/spdlog.h>

#include <wsgate/protocol/http_request.hpp>
#include <wsgate/session/ws_handshake.hpp>
#include <wsgate/session/ws_session.hpp>
#include <wsgate/tls/tls_stream.hpp>

namespace wsgate {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {
// Request headers are small for every client we serve; Beast's default is 8 KiB.
constexpr std::uint32_t header_limit = 8 * 1024;
// How long a closing connection waits for the peer to stop sending.
constexpr std::chrono::seconds linger_time{2};
// Pipelined requests handled in one go: at most this many, and no more once their answers
// hold this many bytes (so the output buffer holds at most one answer more).
constexpr std::size_t max_burst_requests = 64;
constexpr std::size_t max_burst_bytes = 64 * 1024;
constexpr std::size_t keep_alive_read_bytes = 16 * 1024;

// ?recover_epoch=&recover_offset=, both there and well-formed: the user stream's position.
std::optional<protocol::stream_position> recover_position(
    const std::optional<std::string>& epoch, const std::optional<std::string>& offset) {
    // An empty epoch is a position too: the client saw the stream before its first event.
    if (!epoch || !offset || epoch->size() > 64 || offset->empty())
        return std::nullopt;
    std::uint64_t n = 0;
    const char* end = offset->data() + offset->size();
    const auto [at, ec] = std::from_chars(offset->data(), end, n);
    if (ec != std::errc{} || at != end) return std::nullopt;
    return protocol::stream_position{*epoch, n};
}
}  // namespace

template <class Stream>
http_session<Stream>::http_session(Stream stream, std::shared_ptr<shared_state> state,
                                   listener_role role)
    : stream_(std::move(stream)),
      deadline_(socket().get_executor()),
      state_(std::move(state)),
      role_(role),
      api_(*state_) {}

template <class Stream>
net::ip::tcp::socket& http_session<Stream>::socket() {
    if constexpr (is_tls)
        return stream_.next_layer();
    else
        return stream_;
}

template <class Stream>
void http_session<Stream>::arm(std::chrono::steady_clock::duration timeout) {
    const std::uint64_t arm_id = ++deadline_arms_;
    deadline_.expires_after(timeout);
    deadline_.async_wait([weak = this->weak_from_this(), arm_id](beast::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->deadline_arms_ != arm_id) return;
        self->timed_out_ = true;
        beast::error_code ignored;
        self->socket().close(ignored);  // whatever waits on it completes with an error
    });
}

template <class Stream>
void http_session<Stream>::start() {
    // The TLS handshake and the first request must come within the handshake timeout (slow
    // clients hold a socket); later requests on a keep-alive connection within the idle one.
    arm(state_->cfg.timeouts.handshake);
    if constexpr (is_tls)
        stream_.async_handshake(
            beast::bind_front_handler(&http_session::on_tls_handshake, this->shared_from_this()));
    else
        do_read();
}

template <class Stream>
void http_session<Stream>::on_tls_handshake(beast::error_code ec) {
    if (!ec) return do_read();
    if (timed_out_) return state_->stats.count_error("handshake", "timeout");
    // A peer that leaves (a load balancer's TCP check) is no error.
    if (ec.category() != tls_category()) return;
    if (ec != tls_errc::plain_http) {
        if constexpr (is_tls)
            spdlog::debug("TLS handshake failed: {}", stream_.engine().error_message());
        return state_->stats.count_error("handshake", "tls");
    }
    // Plain HTTP to the TLS port (http:// or ws:// instead of https:// or wss://): say so in
    // plain HTTP, which is what the client reads.
    append_answer(api_.error(400, "tls_required", "this port speaks TLS: use https:// or wss://",
                             "handshake"),
                  false, false);
    net::async_write(socket(), out_.data(),
                     [self = this->shared_from_this()](beast::error_code write_ec, std::size_t) {
                         if (!write_ec) self->linger();
                     });
}

template <class Stream>
void http_session<Stream>::do_read() {
    if (!parser_) make_parser();
    if (!first_request_) {
        // Beast reads at most the buffer's free room (512 bytes at first): on a kept-alive
        // connection, make room for what a pipelining client sends at once.
        buffer_.reserve(keep_alive_read_bytes);
        arm(state_->cfg.timeouts.http_idle);
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_read(beast::error_code ec, std::size_t) {
    const bool first = std::exchange(first_request_, false);
    // A first request not complete within the handshake timeout (a slowloris) is counted.
    if (timed_out_ && first) state_->stats.count_error("handshake", "timeout");
    if (timed_out_ || ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
        return;
    if (ec) {
        answer_unreadable(ec);
        return write_answers();
    }
    handle_requests();
}

template <class Stream>
void http_session<Stream>::make_parser() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(state_->cfg.limits.max_body_bytes);
    parser_->eager(true);
}

// A client that pipelines sends requests back to back, and one read often brings several: they
// are handled here in one go, so that the events they publish are queued in the same turn of
// the loop and leave in one gather write per subscriber, as a batch publish does. Their answers
// are written together, in order, once no further request is ready.
template <class Stream>
void http_session<Stream>::handle_requests() {
    while (next_request_ready()) {
        request_type req = parser_->release();
        parser_.reset();
        const std::size_t answered = answers_;
        handle_request(std::move(req));
        // Not answered yet: the bus answers later (respond() then writes), or the socket went
        // to a ws_session.
        if (answers_ == answered) {
            waiting_ = true;
            return;
        }
    }
    if (out_.size() == 0) return do_read();  // the next request is not all here yet
    write_answers();
}

template <class Stream>
bool http_session<Stream>::next_request_ready() {
    // Bounded so that one client cannot hold the loop, nor the answers grow without end.
    if (close_after_ || answers_ >= max_burst_requests || out_.size() >= max_burst_bytes)
        return false;
    if (!parser_) make_parser();
    beast::error_code ec;
    if (!parse_buffered(ec)) {
        if (ec) answer_unreadable(ec);
        return false;
    }
    // An upgrade hands the socket over: the answers before it are written first.
    return out_.size() == 0 || !wants_websocket(parser_->get());
}

template <class Stream>
bool http_session<Stream>::parse_buffered(beast::error_code& ec) {
    while (!parser_->is_done() && buffer_.size() != 0) {
        buffer_.consume(parser_->put(buffer_.data(), ec));
        if (ec == http::error::need_more) {
            ec = {};
            return false;
        }
        if (ec) return false;
    }
    return parser_->is_done();
}

template <class Stream>
void http_session<Stream>::handle_request(request_type req) {
    // Every Connection line counts (Beast's keep_alive() reads the first one only).
    const bool keep_alive = keeps_alive(req, req.version());
    const bool websocket = wants_websocket(req);
    // Origin form and absolute form alike (RFC 7230 5.3): routed by the path.
    const auto target = parse_request_target(req.target());
    if (!target)
        return respond(api_.error(400, "bad_request", "malformed request target",
                                  websocket ? "handshake" : "rest"),
                       keep_alive && !websocket, false);
    const std::string_view path = target->path;
    // Upgrade: websocket on the WebSocket path is a handshake, answered by its checks (a 400
    // that says what is wrong) even when the rest of it is not right.
    if (websocket && role_ != listener_role::api_only && path == state_->cfg.server.ws_path) {
        if (state_->draining)
            return respond(api_.error(503, "draining", "the server is shutting down"), false,
                           false);
        return upgrade(std::move(req));
    }
    // RFC 7230 5.4: an HTTP/1.1 request without Host, or any with two, is a 400.
    const std::size_t hosts = req.count(http::field::host);
    if (hosts > 1 || (hosts == 0 && req.version() >= 11))
        return respond(api_.error(400, "bad_request",
                                  "an HTTP/1.1 request has exactly one Host header"),
                       keep_alive, false);

    rest_request r{req.method_string(), path, req[http::field::content_type],
                   req[http::field::authorization], req.body(), req["Idempotency-Key"], {}};
    for (const auto& param : target->url.params())
        r.query.emplace_back(param.key, param.has_value ? param.value : std::string());
    const bool head = req.method() == http::verb::head;
    api_.handle(r, role_, [self = this->shared_from_this(), keep_alive, head](rest_response response) {
        self->respond(response, keep_alive, head);
    });
}

template <class Stream>
void http_session<Stream>::answer_unreadable(beast::error_code ec) {
    if (ec == http::error::body_limit) {
        return append_answer(api_.error(413, "payload_too_large",
                                        "the body is larger than " +
                                            std::to_string(state_->cfg.limits.max_body_bytes) +
                                            " bytes"),
                             false, false);
    }
    // Not HTTP we can read: say so once and hang up.
    append_answer(api_.error(400, "bad_request", "malformed HTTP request: " + ec.message()), false,
                  false);
}

template <class Stream>
void http_session<Stream>::upgrade(request_type request) {
    auto refuse = [this](int status, std::string_view code, const std::string& message) {
        respond(api_.error(status, code, message, "handshake"), false, false);
    };
    // Cross-Site WebSocket Hijacking: a page from another site may not use the client's cookies
    // here. Browsers always send Origin on a WebSocket handshake; other clients may not.
    const auto origin = request[http::field::origin];
    if (request.count(http::field::origin) != 0 && !state_->origins.allows(origin))
        return refuse(403, "origin_not_allowed",
                      "origin '" + std::string(origin.substr(0, 256)) + "' may not connect");

    // Who the client is: a token (Authorization: Bearer, or ?token=), a development user
    // (?user=), or nobody.
    ws_client client;
    std::string_view token = bearer_token(request[http::field::authorization]);
    const auto target = parse_request_target(request.target());  // parsed before, so valid
    if (!target) return refuse(400, "bad_request", "malformed request target");
    std::optional<std::string> recover_epoch, recover_offset;
    for (const auto& param : target->url.params()) {
        if (param.key == "token" && token.empty()) {
            query_token_ = param.value;
            token = query_token_;
        }
        if (param.key == "recover_epoch") recover_epoch = param.value;
        if (param.key == "recover_offset") recover_offset = param.value;
        if (param.key != "user") continue;
        if (!state_->cfg.auth.insecure_dev_user)
            return refuse(403, "user_not_allowed", "declaring a user needs auth.insecure_dev_user");
        if (!state_->names.valid(param.value))
            return refuse(400, "invalid_user", state_->names.describe("user"));
        client.user = param.value;
    }
    if (!token.empty()) {
        if (!state_->tokens) return refuse(401, "invalid_token", "this server does not take tokens");
        auto verified = state_->verify_token(token);
        if (auto* err = std::get_if<auth::jwt_error>(&verified)) {
            state_->stats.count_error("auth", auth::to_string(err->code));
            return refuse(401, "invalid_token",
                          std::string("token refused (") + auth::to_string(err->code) +
                              "): " + err->message);
        }
        auto& who = std::get<auth::jwt_identity>(verified);
        if (!client.user.empty() && client.user != who.subject)
            return refuse(400, "invalid_user", "?user= and the token name different users");
        client.user = std::move(who.subject);
        client.claims = std::move(who.channels);
        client.expires_at = who.expires_at;
    }
    client.must_authenticate = client.user.empty() && !state_->cfg.auth.anonymous;
    // The position of the user's stream the client saw (docs/history.md, "User streams").
    if (recover_epoch || recover_offset) {
        client.recover = recover_position(recover_epoch, recover_offset);
        if (!client.recover)
            return refuse(400, "invalid_recover",
                          "recover_epoch (0-64 characters) and recover_offset (an unsigned "
                          "integer) name a position of the user's stream, together");
    }

    const std::string address = client_address(request);
    switch (state_->connections.try_open(address)) {
        case connection_limiter::verdict::ok:
            break;
        case connection_limiter::verdict::total_reached:
            return refuse(503, "too_many_connections", "the server is at its connection limit");
        case connection_limiter::verdict::address_reached:
            return refuse(429, "too_many_connections",
                          "too many connections from " + address + " (at most " +
                              std::to_string(state_->cfg.limits.max_connections_per_ip) + ")");
    }
    client.slot = connection_slot(state_->connections, address);
    deadline_.cancel();
    ++deadline_arms_;
    // What the HTTP reader took beyond the request are the client's first frames.
    const std::string_view early(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    std::shared_ptr<ws_session> session;
    if constexpr (is_tls) {
        auto [tcp_socket, engine] = stream_.release();
        client.tls = std::make_unique<tls_engine>(std::move(engine));
        session = std::make_shared<ws_session>(std::move(tcp_socket), state_, std::move(client));
    } else {
        session = std::make_shared<ws_session>(std::move(stream_), state_, std::move(client));
    }
    session->start(std::move(request), early);
    buffer_.clear();
}

template <class Stream>
std::string http_session<Stream>::client_address(const request_type& request) {
    beast::error_code ec;
    const auto peer = socket().remote_endpoint(ec);
    if (ec) return "unknown";
    auto address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    // Every X-Forwarded-For line counts: HAProxy (`option forwardfor`) appends its own after
    // the client's, so the first one is whatever the client chose to send.
    std::vector<std::string_view> forwarded_for;
    for (auto [it, end] = request.equal_range("X-Forwarded-For"); it != end; ++it)
        forwarded_for.push_back(it->value());
    return state_->proxies.client_address(address.to_string(), forwarded_for);
}

template <class Stream>
void http_session<Stream>::respond(const rest_response& r, bool keep_alive, bool head) {
    append_answer(r, keep_alive, head);
    // An answer that came later ends the burst; on_write goes on with what is buffered.
    if (std::exchange(waiting_, false)) write_answers();
}

template <class Stream>
void http_session<Stream>::append_answer(const rest_response& r, bool keep_alive, bool head) {
    ++state_->stats.http_requests[r.status];
    response_type response{static_cast<http::status>(r.status), 11};
    response.set(http::field::server, "wsgate/" WSGATE_VERSION);
    response.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) response.set(name, value);
    response.keep_alive(keep_alive);
    if (head) {
        response.content_length(r.body.size());
    } else {
        response.body() = r.body;
        response.prepare_payload();
    }
    beast::ostream(out_) << response;
    ++answers_;
    if (!keep_alive) close_after_ = true;
}

template <class Stream>
void http_session<Stream>::write_answers() {
    arm(state_->cfg.timeouts.http_idle);
    net::async_write(stream_, out_.data(),
                     beast::bind_front_handler(&http_session::on_write, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_write(beast::error_code ec, std::size_t) {
    if (ec) return;
    out_.clear();
    answers_ = 0;
    if (close_after_ || state_->draining) return linger();
    handle_requests();
}

template <class Stream>
void http_session<Stream>::linger() {
    // Half-close (after close_notify over TLS), then read and drop what the peer still sends
    // (say, the rest of a body that was too large) until it closes: closing with unread input
    // would reset the connection and could destroy our response before the peer reads it.
    arm(linger_time);
    if constexpr (is_tls) {
        if (stream_.engine().writable())
            return stream_.async_shutdown(
                [self = this->shared_from_this()](beast::error_code ec) {
                    if (!ec) self->drain();
                });
    }
    beast::error_code ignored;
    socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    drain();
}

template <class Stream>
void http_session<Stream>::drain() {
    // The raw bytes: nothing of them is read, so there is nothing to decrypt.
    buffer_.clear();
    socket().async_read_some(buffer_.prepare(4096),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (!ec) self->drain();
                             });
}

template class http_session<net::ip::tcp::socket>;
template class http_session<tls_stream>;

}  // namespace wsgate
