#include <wsgate/session/ws_session.hpp>

#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <spdlog/spdlog.h>

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
        if (opcode == ws_opcode::text) {
            if (s_.within_rate()) s_.requests_.handle(payload);
            return;
        }
        s_.close(close_reason::binary, close_code::unsupported_data,
                 "binary frames are not supported");
    }

    // Control frames count against the message rate like any request: pings would otherwise
    // make the server queue pongs as fast as a client can send.
    void on_ping(std::string_view payload) override {
        if (s_.close_reason_ || !s_.within_rate()) return;
        s_.push(make_frame(ws_opcode::pong, payload));
    }

    void on_pong(std::string_view) override {
        if (!s_.close_reason_) s_.within_rate();
    }

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
      requests_(*this, *state_,
                {std::move(client.user), std::move(client.claims), client.expires_at,
                 client.must_authenticate}),
      recover_(std::move(client.recover)),
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
    // From here on every phase has its deadline, kept by the sweeper (on_sweep()).
    auto& sweeper = state_->sweeper;
    phase_since_ = opened_at_ = last_heard_ = sweeper.now();
    sweeper.add(*this, transport_.get_executor());
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
    on_accept();
}

void ws_session::on_accept() {
    state_->clients.add(*this, id_, requests_.user());
    registered_ = true;
    ++state_->stats.connections_accepted;
    spdlog::debug("ws {}: open (user '{}'{})", id_, requests_.user(),
                  deflate_bits_ != 0 ? ", permessage-deflate" : "");
    if (state_->draining) go_away(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    requests_.opened();
    if (requests_.must_authenticate()) {
        // No welcome before an `auth`, which must come within timeouts.welcome_ms.
        phase_ = phase::open;
        phase_since_ = last_heard_ = state_->sweeper.now();
        return do_read();
    }
    // Welcome a user once events for the user reach this instance (and its stream, with user
    // history, is read); then start reading.
    auto open = [this](const std::optional<history::position>& user_stream,
                       std::optional<bool> recovered) {
        // Closed meanwhile (the welcome deadline): close() started reading already.
        if (phase_ != phase::opening) return;
        welcome(user_stream, recovered);
        phase_ = phase::open;
        phase_since_ = last_heard_ = state_->sweeper.now();
        do_read();
    };
    if (requests_.user().empty()) return open(std::nullopt, std::nullopt);
    requests_.join_user(std::exchange(recover_, std::nullopt), open);
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

void ws_session::send(const std::string& json) { queue(make_text_frame(json)); }

void ws_session::welcome(const std::optional<history::position>& user_stream,
                         std::optional<bool> recovered) {
    if (welcomed_ || close_reason_) return;
    welcomed_ = true;
    send(protocol::welcome_message(id_, requests_.user(), state_->cfg.heartbeat.interval,
                                   user_stream, recovered));
}

void ws_session::queue(const frame_ptr& frame) {
    if (deflate_bits_ != 0) {
        // Compressed once per frame and window size, however many subscribers share it.
        const auto min_bytes = state_->cfg.websocket.deflate_min_bytes;
        if (auto compressed = frame->deflated(deflate_bits_, min_bytes))
            return push(std::move(compressed));
    }
    push(frame);
}

void ws_session::push(frame_ptr frame) {
    if (close_reason_) return;  // closing: only the close frame goes out
    // A client is behind when what waits for it, before this frame, is more than its budget:
    // any one message fits an empty queue, whatever its size. Every frame counts, events and
    // answers alike. The backlog goes, so the server's memory stays bounded.
    if (transport_.queued_bytes() > state_->cfg.limits.max_queue_bytes)
        return close_slow_consumer();
    transport_.send(std::move(frame));
}

void ws_session::close_slow_consumer() {
    ++state_->stats.slow_consumer_closes;
    held_ = held_events{};
    transport_.discard_queued();
    close(close_reason::slow_consumer, close_code::policy_violation, "slow consumer");
}

void ws_session::deliver(const frame_ptr& frame) {
    if (close_reason_) return;
    queue(frame);
    ++state_->stats.deliveries;
}

void ws_session::deliver_event(const std::string& channel, const history::position& at,
                               const frame_ptr& frame) {
    if (close_reason_) return;
    if (held_.empty() || !held_.add(channel, at, frame)) return deliver(frame);
    // Held frames are backlog like queued ones: a client whose history read takes long while
    // its channel is busy is behind, and is closed like any slow consumer.
    if (held_.bytes() + transport_.queued_bytes() > state_->cfg.limits.max_queue_bytes)
        close_slow_consumer();
}

void ws_session::release(const std::string& channel, const std::vector<frame_ptr>& replay,
                         const history::position& top) {
    auto live = held_.release(channel, top);
    // Closing, or unsubscribed while the history was read: nothing more for this channel.
    if (close_reason_ || !live) return;
    for (const auto& f : replay) queue(f);
    state_->stats.history.replayed += replay.size();
    state_->stats.deliveries += replay.size();
    for (const auto& f : *live) deliver(f);
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
    const bool was_opening = phase_ == phase::opening;
    close_reason_ = why;
    transport_.send_close(make_close_frame(code, reason));
    phase_ = phase::closing;
    phase_since_ = state_->sweeper.now();
    // A connection closed before its welcome was not reading yet (later phases always are):
    // the client's close frame must be read for the close handshake to end.
    if (was_opening && !read_pending_) do_read();
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
    phase_since_ = state_->sweeper.now();
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
            // Waiting for the bus to confirm the user's topic (the welcome promises delivery).
            if (now - opened_at_ >= sweeper.ticks(cfg.timeouts.welcome))
                close(close_reason::not_confirmed, close_code::try_again_later,
                      "try again later: delivery to this connection was not confirmed in time");
            break;
        case phase::open: {
            if (!welcomed_ && now - opened_at_ >= sweeper.ticks(cfg.timeouts.welcome)) {
                // No auth came, or the bus did not confirm the user it named.
                if (requests_.must_authenticate())
                    close(close_reason::auth_required, close_code::auth_required,
                          "authentication required");
                else
                    close(close_reason::not_confirmed, close_code::try_again_later,
                          "try again later: delivery to this connection was not confirmed in "
                          "time");
                break;
            }
            const session_sweeper::tick silent = now - last_heard_;
            if (silent >= sweeper.ticks(2 * cfg.heartbeat.interval)) {
                auto self = shared_from_this();
                abort(close_reason::heartbeat);
            } else if (!ping_sent_ && silent >= sweeper.ticks(cfg.heartbeat.interval)) {
                ping_sent_ = true;
                push(ping_frame());
            }
            break;
        }
        case phase::closing:
        case phase::tearing_down:
            // The close handshake, the flush of what is queued and the wait for the peer's FIN
            // all end within timeouts.close_ms; then the connection is cut.
            if (now - phase_since_ >= sweeper.ticks(cfg.timeouts.close)) {
                auto self = shared_from_this();  // finishing may drop the last other owner
                ++state_->stats.close_timeouts;
                abort(close_reason_.value_or(close_reason::close_timeout));
            }
            break;
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
    requests_.closed();
}

}  // namespace wsgate
