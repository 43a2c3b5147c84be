#include <wsgate/session/ws_session.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <spdlog/spdlog.h>

#include <wsgate/auth/subscribe_checker.hpp>
#include <wsgate/protocol/server_message.hpp>
#include <wsgate/session/ws_handshake.hpp>

namespace wsgate {

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

// Bytes read from a socket at a time, into a buffer that all the connections of a thread share.
constexpr std::size_t read_chunk = 16 * 1024;
// Reads per readiness notification before the other connections get their turn.
constexpr int reads_per_wake = 4;

char* read_buffer() {
    thread_local const std::unique_ptr<char[]> buffer(new char[read_chunk]);
    return buffer.get();
}

const frame_ptr& ping_frame() {
    static const frame_ptr ping = make_frame(ws_opcode::ping, {});
    return ping;
}
// Subscribes one client may have waiting for the subscribe-check webhook.
constexpr std::uint32_t max_pending_checks = 8;

// Close codes of the authentication rules (docs/protocol.md).
constexpr std::uint16_t close_code_auth_required = 4001;
constexpr std::uint16_t close_code_auth_failed = 4002;
constexpr std::uint16_t close_code_token_expired = 4003;
// Tokens valid for longer are treated as valid for this long (ten years).
constexpr std::int64_t max_token_lifetime_s = 10LL * 365 * 24 * 3600;

close_reason reason_for(const beast::error_code& ec) {
    if (ec == net::error::eof || ec == net::error::connection_reset) return close_reason::client;
    return close_reason::error;
}

close_reason reason_for_protocol_error(std::uint16_t code) {
    switch (code) {
        case close_code::too_big: return close_reason::too_big;
        case close_code::invalid_payload: return close_reason::bad_utf8;
        default: return close_reason::error;
    }
}

}  // namespace

/// What the frame parser finds, applied to the session.
class ws_session::frame_sink final : public ws_frame_parser::handler {
public:
    explicit frame_sink(ws_session& session) : s_(session) {}

    void on_message(ws_opcode opcode, std::string_view payload) override {
        if (s_.close_reason_) return;  // closing: requests are no longer answered
        if (opcode == ws_opcode::text) return s_.handle_request(payload);
        s_.close(close_reason::binary, close_code::unsupported_data,
                 "binary frames are not supported");
    }

    void on_ping(std::string_view payload) override {
        s_.transport_.send(make_frame(ws_opcode::pong, payload));
    }

    void on_pong(std::string_view) override {}

    void on_close(std::uint16_t code, std::string_view) override {
        // Our own close being answered, or the client's to answer (echoing its code).
        s_.fail(close_reason::client, code, {});
    }

private:
    ws_session& s_;
};

ws_session::ws_session(net::ip::tcp::socket socket, std::shared_ptr<shared_state> state,
                       ws_client client)
    : transport_(std::move(socket), state->stats, std::move(client.tls)),
      parser_(state->cfg.limits.max_message_bytes),
      state_(std::move(state)),
      id_(state_->next_connection_id()),
      user_(std::move(client.user)),
      claims_(std::move(client.claims)),
      expires_at_(client.expires_at),
      must_authenticate_(client.must_authenticate),
      slot_(std::move(client.slot)),
      messages_(state_->cfg.limits.message_rate, state_->cfg.limits.message_burst,
                token_bucket::clock::now()) {}

ws_session::~ws_session() {
    state_->sweeper.remove(*this);
    if (registered_) state_->clients.remove(*this);
}

void ws_session::start(beast::http::request<beast::http::string_body> request,
                       std::string_view early_input) {
    transport_.set_owner(weak_from_this());
    transport_.unread(early_input);
    auto handshake = accept_ws_handshake(request, {state_->cfg.websocket.permessage_deflate});
    transport_.send(std::make_shared<const wire_frame>(std::move(handshake.response)));
    if (!handshake.accepted) {
        spdlog::debug("ws {}: handshake refused: {}", id_, handshake.error);
        state_->stats.count_error("ws", handshake.error);
        return tear_down();
    }
    if (handshake.deflate) {
        deflate_bits_ = static_cast<std::uint8_t>(handshake.deflate->server_window_bits);
        parser_.allow_compressed(true);
    }
    auto& sweeper = state_->sweeper;
    phase_since_ = last_heard_ = sweeper.now();
    sweeper.add(*this, transport_.get_executor());
    on_accept();
}

void ws_session::on_accept() {
    state_->clients.add(*this, id_, user_);
    registered_ = true;
    ++state_->stats.connections_accepted;
    spdlog::debug("ws {}: open (user '{}'{})", id_, user_,
                  deflate_bits_ != 0 ? ", permessage-deflate" : "");
    if (state_->draining) go_away(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    if (must_authenticate_) {
        // No welcome before an `auth`, which must come within the handshake time.
        close_after(state_->cfg.timeouts.handshake, close_reason::auth_required,
                    close_code_auth_required, "authentication required");
        phase_ = phase::open;
        phase_since_ = last_heard_ = state_->sweeper.now();
        return do_read();
    }
    arm_expiry();
    // Welcome a user once events for the user reach this instance; then start reading.
    auto welcome = [](ws_session& self) {
        self.send(protocol::welcome_message(self.id_, self.user_,
                                            self.state_->cfg.heartbeat.interval));
        if (self.phase_ == phase::opening) {
            self.phase_ = phase::open;
            self.phase_since_ = self.last_heard_ = self.state_->sweeper.now();
        }
        self.do_read();
    };
    if (user_.empty()) return welcome(*this);
    after_subscribed(hub::user_topic(user_), welcome);
}

void ws_session::after_subscribed(const std::string& topic,
                                  std::function<void(ws_session&)> then) {
    bus* events = state_->events;
    if (events == nullptr) return;
    // Holds the session: before the welcome nothing else does. It cannot wait forever, since
    // leaving the hub unsubscribes the topic, which calls back too.
    events->when_subscribed(topic, [self = shared_from_this(), then = std::move(then)] {
        if (self->registered_) then(*self);
    });
}

void ws_session::do_read() {
    read_pending_ = true;
    // Input already decrypted does not make the socket readable again: read it next turn.
    if (transport_.has_buffered_input())
        return net::post(transport_.get_executor(),
                         beast::bind_front_handler(&ws_session::on_read, shared_from_this(),
                                                   beast::error_code{}));
    // Wait for bytes without holding a buffer: an idle connection costs no read memory.
    transport_.socket().async_wait(
        net::ip::tcp::socket::wait_read,
        beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(beast::error_code ec) {
    read_pending_ = false;
    if (ec) return finish(ec);
    frame_sink sink(*this);
    char* const buffer = read_buffer();
    // The transport keeps the socket non-blocking: each read takes what is there.
    for (int i = 0; i < reads_per_wake; ++i) {
        const std::size_t n = transport_.read_some(net::buffer(buffer, read_chunk), ec);
        if (ec == net::error::would_block || ec == net::error::try_again) break;
        if (ec) return finish(ec);
        last_heard_ = state_->sweeper.now();
        ping_sent_ = false;
        // Keep parsing while closing: the client's close frame ends the close handshake.
        if (!parser_.parse(buffer, n, sink)) {
            const auto code = parser_.error_code();
            return fail(reason_for_protocol_error(code), code, parser_.error_reason());
        }
        if (phase_ == phase::tearing_down || phase_ == phase::done) return;
        if (n < read_chunk && !transport_.has_buffered_input()) break;
    }
    do_read();
}

void ws_session::reject(protocol::client_error code, const std::string& message,
                        const std::optional<std::string>& id) {
    state_->stats.count_error("ws", protocol::to_string(code));
    send(protocol::error_message(id, protocol::to_string(code), message));
}

bool ws_session::within_rate() {
    const auto now = token_bucket::clock::now();
    if (messages_.try_take(now)) {
        // Back within its rate once it has earned back half its burst. A token or two come
        // back during any pause of a flood (between two reads, or while descheduled): that is
        // no slowing down, and must not start a new episode.
        if (messages_.available(now) >= state_->cfg.limits.message_burst / 2) refused_ = 0;
        return true;
    }
    state_->stats.count_error("ws", "rate_limited");
    // One error per episode, not one per refused message: a flood must not be echoed.
    if (++refused_ == 1)
        send(protocol::error_message(std::nullopt, "rate_limited",
                                     "more than " +
                                         std::to_string(static_cast<long>(
                                             state_->cfg.limits.message_rate)) +
                                         " messages per second; this one was dropped"));
    if (refused_ >= state_->cfg.limits.message_burst)
        close(close_reason::rate_limit, close_code::policy_violation, "rate limit exceeded");
    return false;
}

void ws_session::handle_request(std::string_view text) {
    using protocol::client_error;
    auto& hub = state_->clients;
    if (!within_rate()) return;
    auto parsed = protocol::parse_client_message(text, state_->names);
    if (auto* err = std::get_if<protocol::request_error>(&parsed))
        return reject(err->code, err->message, err->id);

    const auto& req = std::get<protocol::client_request>(parsed);
    if (must_authenticate_ && req.type != protocol::request_type::auth)
        return close(close_reason::auth_required, close_code_auth_required,
                     "authentication required");
    switch (req.type) {
        case protocol::request_type::ping:
            return send(protocol::pong_message(req.id));
        case protocol::request_type::subscribe:
            return subscribe(req);
        case protocol::request_type::unsubscribe:
            if (!hub.unsubscribe(*this, req.channel))
                return reject(client_error::not_subscribed, "not subscribed to " + req.channel,
                              req.id);
            return send(protocol::ack_message(req.id));
        case protocol::request_type::send:
            return forward(req);
        case protocol::request_type::publish:
            return publish(req);
        case protocol::request_type::auth:
        case protocol::request_type::refresh:
            return authenticate(req);
    }
}

void ws_session::authenticate(const protocol::client_request& req) {
    using protocol::client_error;
    if (!state_->tokens)
        return reject(client_error::unauthorized, "this server does not take tokens", req.id);
    auto verified = state_->verify_token(req.token);
    if (auto* err = std::get_if<auth::jwt_error>(&verified)) {
        state_->stats.count_error("auth", auth::to_string(err->code));
        if (must_authenticate_)
            return close(close_reason::auth_failed, close_code_auth_failed,
                         std::string("authentication failed: ") + auth::to_string(err->code));
        return reject(client_error::unauthorized,
                      std::string("token refused (") + auth::to_string(err->code) +
                          "): " + err->message,
                      req.id);
    }
    auto& who = std::get<auth::jwt_identity>(verified);
    if (req.type == protocol::request_type::refresh && user_.empty())
        return reject(client_error::unauthorized, "nothing to refresh: send auth first", req.id);
    if (!user_.empty() && who.subject != user_)
        return reject(client_error::forbidden,
                      "the token is for another user; a connection keeps its user", req.id);
    claims_ = std::move(who.channels);
    expires_at_ = who.expires_at;
    arm_expiry();
    if (!user_.empty()) return send(protocol::ack_message(req.id));  // a refresh

    // The client becomes the user: it answers once events for the user reach this instance.
    user_ = std::move(who.subject);
    state_->clients.set_user(*this, user_);
    const bool first = must_authenticate_;
    must_authenticate_ = false;
    after_subscribed(hub::user_topic(user_), [first, id = req.id](ws_session& self) {
        if (first)
            self.send(protocol::welcome_message(self.id_, self.user_,
                                                self.state_->cfg.heartbeat.interval));
        else
            self.send(protocol::ack_message(id));
    });
}

void ws_session::subscribe(const protocol::client_request& req) {
    using protocol::client_error;
    const auto verdict = state_->channels.decide(auth::action::subscribe, req.channel, identity());
    if (!verdict.allowed) return reject(client_error::forbidden, verdict.reason, req.id);
    if (!verdict.needs_check || !state_->subscribe_check) return join(req.channel, req.id);
    if (pending_checks_ >= max_pending_checks)
        return reject(client_error::rate_limited,
                      "at most " + std::to_string(max_pending_checks) +
                          " subscriptions may wait for their check at once",
                      req.id);
    ++pending_checks_;
    state_->subscribe_check->check(
        id_, user_, req.channel,
        [weak = weak_from_this(), channel = req.channel, id = req.id](bool allowed,
                                                                       std::string reason) {
            auto self = std::static_pointer_cast<ws_session>(weak.lock());
            if (!self) return;
            --self->pending_checks_;
            if (self->close_reason_ || !self->registered_) return;
            if (!allowed) return self->reject(client_error::forbidden, reason, id);
            self->join(channel, id);
        });
}

void ws_session::join(const std::string& channel, const std::optional<std::string>& id) {
    const auto max = state_->cfg.limits.max_subscriptions;
    if (state_->clients.subscribe(*this, channel, max) == hub::subscribe_result::limit_reached)
        return reject(protocol::client_error::too_many_subscriptions,
                      "at most " + std::to_string(max) + " subscriptions per connection", id);
    // The ack promises every event published after it: wait until the bus (Redis) has the
    // channel's subscription in force.
    after_subscribed(hub::channel_topic(channel),
                     [id](ws_session& self) { self.send(protocol::ack_message(id)); });
}

void ws_session::publish(const protocol::client_request& req) {
    using protocol::client_error;
    const auto verdict = state_->channels.decide(auth::action::publish, req.channel, identity());
    if (!verdict.allowed) return reject(client_error::forbidden, verdict.reason, req.id);
    if (state_->events == nullptr)
        return reject(client_error::service_unavailable, "the event bus is not available",
                      req.id);
    envelope e;
    e.kind = target_kind::channel;
    e.target = req.channel;
    e.event = req.event;
    e.data = req.data;
    state_->stamp(e);
    state_->events->publish(e, [weak = weak_from_this(), id = req.id](bool accepted) {
        auto self = std::static_pointer_cast<ws_session>(weak.lock());
        if (!self || self->close_reason_) return;
        if (!accepted)
            return self->reject(client_error::service_unavailable,
                                "the event bus is not available; retry later", id);
        ++self->state_->stats.events_published;
        self->send(protocol::ack_message(id));
    });
}

void ws_session::close_after(std::chrono::milliseconds delay, close_reason why,
                             std::uint16_t code, std::string text) {
    if (!auth_timer_) auth_timer_ = std::make_unique<net::steady_timer>(transport_.get_executor());
    auth_timer_->expires_after(delay);
    auth_timer_->async_wait([weak = weak_from_this(), why, code, text = std::move(text)](
                                beast::error_code ec) {
        auto self = std::static_pointer_cast<ws_session>(weak.lock());
        if (ec || !self) return;
        self->close(why, code, text);
    });
}

void ws_session::arm_expiry() {
    if (!expires_at_) {
        if (auth_timer_) auth_timer_->cancel();
        return;
    }
    // Valid until exp + leeway (the verifier's rule); closed then unless refreshed.
    using namespace std::chrono;
    const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch());
    // Far-future expiries are capped, so the arithmetic cannot overflow.
    const auto exp = std::min<std::int64_t>(*expires_at_, duration_cast<seconds>(now).count() +
                                                              max_token_lifetime_s);
    const auto end = duration_cast<milliseconds>(seconds(exp) + state_->cfg.auth.jwt.leeway);
    close_after(std::max(milliseconds(0), end - now),
                close_reason::token_expired, close_code_token_expired, "token expired");
}

void ws_session::forward(const protocol::client_request& req) {
    using protocol::client_error;
    auto found = state_->services.find(req.service);
    if (found == state_->services.end())
        return reject(client_error::unknown_service, "no service named '" + req.service + "'",
                      req.id);
    service& target = *found->second;
    const auto& cfg = target.config();
    if (cfg.users_only && user_.empty())
        return reject(client_error::forbidden, req.service + " takes messages from users only",
                      req.id);
    if (req.data.size() > cfg.max_bytes)
        return reject(client_error::too_large,
                      req.service + " takes at most " + std::to_string(cfg.max_bytes) + " bytes",
                      req.id);
    target.forward({id_, user_, req.id, req.data},
                   [weak = weak_from_this(), id = req.id, name = req.service](service_result r) {
                       auto self = std::static_pointer_cast<ws_session>(weak.lock());
                       if (!self || self->close_reason_) return;
                       if (r.what == service_result::outcome::failed)
                           return self->reject(r.error, r.message, id);
                       self->send(protocol::ack_message(id));
                       if (r.what == service_result::outcome::replied)
                           self->send(protocol::reply_message(id.value_or("null"), name, r.reply));
                   });
}

void ws_session::send(const std::string& json) { queue(make_text_frame(json)); }

void ws_session::queue(const frame_ptr& frame) {
    if (deflate_bits_ != 0) {
        // Compressed once per frame and window size, however many subscribers share it.
        const auto min_bytes = state_->cfg.websocket.deflate_min_bytes;
        if (auto compressed = frame->deflated(deflate_bits_, min_bytes))
            return transport_.send(std::move(compressed));
    }
    transport_.send(frame);
}

void ws_session::deliver(const frame_ptr& frame) {
    if (close_reason_) return;
    queue(frame);
    ++state_->stats.deliveries;
    if (transport_.queued_bytes() > state_->cfg.limits.max_queue_bytes) {
        // A slow consumer: its backlog goes, so the server's memory stays bounded.
        ++state_->stats.slow_consumer_closes;
        transport_.discard_queued();
        close(close_reason::slow_consumer, close_code::policy_violation, "slow consumer");
    }
}

void ws_session::go_away(std::chrono::milliseconds close_in,
                         std::chrono::milliseconds reconnect_after) {
    if (close_reason_ || go_away_timer_) return;
    go_away_timer_ = std::make_unique<net::steady_timer>(transport_.get_executor(), close_in);
    go_away_timer_->async_wait([self = shared_from_this(), reconnect_after](beast::error_code ec) {
        if (ec) return;
        self->close(close_reason::shutdown, close_code::going_away,
                    "shutdown; reconnect_after_ms=" + std::to_string(reconnect_after.count()));
    });
}

void ws_session::close(close_reason why, std::uint16_t code, std::string_view reason) {
    if (close_reason_ || phase_ == phase::tearing_down || phase_ == phase::done) return;
    close_reason_ = why;
    transport_.send_close(make_close_frame(code, reason));
    phase_ = phase::closing;
    phase_since_ = state_->sweeper.now();
}

void ws_session::fail(close_reason why, std::uint16_t code, std::string_view reason) {
    if (!close_reason_) {
        close_reason_ = why;
        transport_.send_close(make_close_frame(code, reason));
    }
    tear_down();
}

void ws_session::tear_down() {
    phase_ = phase::tearing_down;
    transport_.async_flush_and_close(
        [self = shared_from_this()](beast::error_code ec) { self->finish(ec); });
}

void ws_session::abort(close_reason why) {
    if (!close_reason_) close_reason_ = why;
    transport_.close_now();
    // A pending read completes with operation_aborted and finishes the session.
    if (!read_pending_) finish(net::error::operation_aborted);
}

void ws_session::on_sweep(session_sweeper::tick now) {
    const auto& sweeper = state_->sweeper;
    const auto& cfg = state_->cfg;
    switch (phase_) {
        case phase::opening:
            // The 101 answer is still queued after the handshake timeout: the client does not
            // read. (The wait for the bus before the welcome is not bounded here.)
            if (transport_.queued_bytes() > 0 &&
                now - phase_since_ >= sweeper.ticks(cfg.timeouts.handshake)) {
                auto self = shared_from_this();  // finishing may drop the last other owner
                abort(close_reason::error);
            }
            break;
        case phase::open: {
            const session_sweeper::tick silent = now - last_heard_;
            if (silent >= sweeper.ticks(2 * cfg.heartbeat.interval)) {
                auto self = shared_from_this();
                abort(close_reason::heartbeat);
            } else if (!ping_sent_ && silent >= sweeper.ticks(cfg.heartbeat.interval)) {
                ping_sent_ = true;
                transport_.send(ping_frame());
            }
            break;
        }
        case phase::closing:
            if (now - phase_since_ >= sweeper.ticks(cfg.timeouts.handshake)) {
                auto self = shared_from_this();
                abort(*close_reason_);
            }
            break;
        case phase::tearing_down:
        case phase::done:
            break;
    }
}

void ws_session::finish(beast::error_code ec) {
    if (phase_ == phase::done) return;
    phase_ = phase::done;
    state_->sweeper.remove(*this);
    transport_.close_now();
    if (!registered_) return;
    const close_reason why = close_reason_.value_or(reason_for(ec));
    state_->stats.count_close(why);
    spdlog::debug("ws {}: closed ({}: {})", id_, to_string(why), ec.message());
    state_->clients.remove(*this);
    registered_ = false;
    if (go_away_timer_) go_away_timer_->cancel();
    if (auth_timer_) auth_timer_->cancel();
    for (auto& [name, svc] : state_->services) svc->client_left(id_);
}

}  // namespace wsgate
