#include <wsgate/session/client_requests.hpp>

#include <spdlog/spdlog.h>

#include <wsgate/app/shared_state.hpp>
#include <wsgate/auth/subscribe_checker.hpp>
#include <wsgate/protocol/server_message.hpp>
#include <wsgate/session/ws_session.hpp>

namespace wsgate {

namespace {

// Subscribes one client may have waiting for the subscribe-check webhook.
constexpr std::uint32_t max_pending_checks = 8;
// Tokens valid for longer are treated as valid for this long (ten years).
constexpr std::int64_t max_token_lifetime_s = 10LL * 365 * 24 * 3600;

}  // namespace

client_requests::client_requests(ws_session& session, shared_state& state,
                                 client_identity_state who)
    : session_(session), state_(state), who_(std::move(who)) {}

void client_requests::reject(protocol::client_error code, const std::string& message,
                             const std::optional<std::string>& id) {
    state_.stats.count_error("ws", protocol::to_string(code));
    session_.send(protocol::error_message(id, protocol::to_string(code), message));
}

void client_requests::handle(std::string_view text) {
    auto parsed =
        protocol::parse_client_message(text, state_.names, state_.cfg.limits.json_max_depth);
    if (auto* err = std::get_if<protocol::request_error>(&parsed)) {
        if (err->too_deep) state_.stats.count_too_deep("ws");
        return reject(err->code, err->message, err->id);
    }
    const auto& req = std::get<protocol::client_request>(parsed);
    if (who_.must_authenticate && req.type != protocol::request_type::auth)
        return session_.close(close_reason::auth_required, close_code::auth_required,
                              "authentication required");
    switch (req.type) {
        case protocol::request_type::ping:
            return session_.send(protocol::pong_message(req.id));
        case protocol::request_type::subscribe:
            return subscribe(req);
        case protocol::request_type::unsubscribe:
            return unsubscribe(req);
        case protocol::request_type::send:
            return forward(req);
        case protocol::request_type::publish:
            return publish(req);
        case protocol::request_type::auth:
        case protocol::request_type::refresh:
            return authenticate(req);
        case protocol::request_type::history:
            return read_history(req);
    }
}

void client_requests::authenticate(const protocol::client_request& req) {
    using protocol::client_error;
    if (!state_.tokens)
        return reject(client_error::unauthorized, "this server does not take tokens", req.id);
    auto verified = state_.verify_token(req.token);
    if (auto* err = std::get_if<auth::jwt_error>(&verified)) {
        state_.stats.count_error("auth", auth::to_string(err->code));
        if (who_.must_authenticate)
            return session_.close(close_reason::auth_failed, close_code::auth_failed,
                                  std::string("authentication failed: ") +
                                      auth::to_string(err->code));
        return reject(client_error::unauthorized,
                      std::string("token refused (") + auth::to_string(err->code) +
                          "): " + err->message,
                      req.id);
    }
    auto& who = std::get<auth::jwt_identity>(verified);
    if (req.type == protocol::request_type::refresh && who_.user.empty())
        return reject(client_error::unauthorized, "nothing to refresh: send auth first", req.id);
    if (!who_.user.empty() && who.subject != who_.user)
        return reject(client_error::forbidden,
                      "the token is for another user; a connection keeps its user", req.id);
    who_.claims = std::move(who.channels);
    who_.expires_at = who.expires_at;
    arm_expiry();
    if (!who_.user.empty()) return session_.send(protocol::ack_message(req.id));  // a refresh

    // The client becomes the user: it answers once events for the user reach this instance.
    who_.user = std::move(who.subject);
    state_.clients.set_user(session_, who_.user);
    const bool first = who_.must_authenticate;
    who_.must_authenticate = false;
    join_user(req.since, [this, first, id = req.id](const std::optional<history::position>& at,
                                                   std::optional<bool> recovered) {
        if (first) return session_.welcome(at, recovered);
        session_.send(at ? protocol::subscribe_ack_message(id, *at, recovered)
                         : protocol::ack_message(id));
    });
}

void client_requests::join_user(const std::optional<protocol::stream_position>& recover,
                                user_stream_answer answer) {
    const std::string topic = hub::user_topic(who_.user);
    if (state_.cfg.history.user_size == 0)
        return session_.after_subscribed(topic, [answer = std::move(answer)](ws_session&) {
            answer(std::nullopt, std::nullopt);
        });
    // Held from before the topic is in force: the answer names the stream's position, and
    // everything after it follows, once — whenever the client gives its position (a position
    // taken after live events flowed would replay them).
    const std::string stream(hub::user_stream);
    session_.hold(stream);
    answer_from_history(
        stream, topic, recover,
        [answer = std::move(answer)](const history::position& top, std::optional<bool> recovered) {
            answer(top, recovered);
        },
        [this] {
            session_.close(close_reason::not_confirmed, close_code::try_again_later,
                           "try again later: the user's history cannot be read now");
        });
}

void client_requests::subscribe(const protocol::client_request& req) {
    using protocol::client_error;
    const auto verdict = state_.channels.decide(auth::action::subscribe, req.channel, identity());
    if (!verdict.allowed) return reject(client_error::forbidden, verdict.reason, req.id);
    if (!verdict.needs_check || !state_.subscribe_check)
        return join(req.channel, req.id, req.since);
    if (pending_checks_ >= max_pending_checks)
        return reject(client_error::rate_limited,
                      "at most " + std::to_string(max_pending_checks) +
                          " subscriptions may wait for their check at once",
                      req.id);
    ++pending_checks_;
    state_.subscribe_check->check(
        session_.id(), who_.user, req.channel,
        [weak = session_.weak_from_this(), this, channel = req.channel, id = req.id,
         recover = req.since](bool allowed, std::string reason) {
            const auto self = weak.lock();  // `this` lives as long as its session
            if (!self) return;
            --pending_checks_;
            if (session_.closing() || !session_.registered()) return;
            if (!allowed) return reject(client_error::forbidden, reason, id);
            join(channel, id, recover);
        });
}

void client_requests::join(const std::string& channel, const std::optional<std::string>& id,
                           const std::optional<protocol::stream_position>& recover) {
    const auto max = state_.cfg.limits.max_subscriptions;
    const auto added = state_.clients.subscribe(session_, channel, max);
    if (added == hub::subscribe_result::limit_reached)
        return reject(protocol::client_error::too_many_subscriptions,
                      "at most " + std::to_string(max) + " subscriptions per connection", id);
    const bool history = state_.channels.history_of(channel).on();
    // Subscribed already: its events flow, and a second read would replay them twice.
    if (history && added == hub::subscribe_result::added)
        return join_with_history(channel, id, recover);
    // The ack promises every event published after it: wait until the bus (Redis) has the
    // channel's subscription in force.
    session_.after_subscribed(hub::channel_topic(channel), [id](ws_session& s) {
        s.send(protocol::ack_message(id));
    });
}

void client_requests::join_with_history(const std::string& channel,
                                        const std::optional<std::string>& id,
                                        const std::optional<protocol::stream_position>& recover) {
    // Live events are held from now on; the history is read once the subscription is in force,
    // so everything after the history's last offset arrives live: the merge has no gap.
    session_.hold(channel);
    answer_from_history(
        channel, hub::channel_topic(channel), recover,
        [this, id](const history::position& top, std::optional<bool> recovered) {
            session_.send(protocol::subscribe_ack_message(id, top, recovered));
        },
        [this, channel, id] {
            // Without its position the ack would promise what it cannot: refuse it.
            state_.clients.unsubscribe(session_, channel);
            reject(protocol::client_error::service_unavailable,
                   "the history cannot be read now; retry later", id);
        });
}

void client_requests::answer_from_history(
    const std::string& stream, const std::string& topic,
    const std::optional<protocol::stream_position>& recover,
    std::function<void(const history::position&, std::optional<bool>)> answer,
    std::function<void()> unreadable) {
    session_.after_subscribed(topic, [this, stream, topic, recover, answer = std::move(answer),
                                      unreadable = std::move(unreadable)](ws_session& s) {
        bus* events = state_.events;
        if (events == nullptr) return;
        const std::size_t limit = recover ? state_.cfg.history.max_replay : 0;
        const std::string epoch = recover ? recover->epoch : std::string();
        const std::uint64_t after = recover ? recover->offset : 0;
        events->read_history(
            topic, epoch, after, limit,
            // Holds the session: before the welcome nothing else does. The bus answers every
            // read, with the history or with nothing.
            [self = s.shared_from_this(), this, stream, recover, answer,
             unreadable](std::optional<history::read_result> r) {
                if (session_.closing() || !session_.registered()) return;
                if (!r) {
                    session_.drop_held(stream);
                    return unreadable();
                }
                std::optional<bool> recovered;
                std::vector<frame_ptr> replay;
                if (recover) {
                    // Every missed event, up to the position the answer names: else the client
                    // must reload (recovered:false), and gets what follows that position.
                    const std::uint64_t last =
                        r->events.empty() ? recover->offset : r->events.back()->offset;
                    recovered = r->complete && last == r->top.offset;
                    ++(*recovered ? state_.stats.history.recovered
                                  : state_.stats.history.not_recovered);
                    if (*recovered)
                        for (const auto& e : r->events)
                            replay.push_back(make_text_frame(protocol::client_text(*e)));
                }
                answer(r->top, recovered);
                session_.release(stream, replay, r->top);
            });
    });
}

void client_requests::unsubscribe(const protocol::client_request& req) {
    if (!state_.clients.unsubscribe(session_, req.channel))
        return reject(protocol::client_error::not_subscribed, "not subscribed to " + req.channel,
                      req.id);
    session_.drop_held(req.channel);
    session_.send(protocol::ack_message(req.id));
}

void client_requests::read_history(const protocol::client_request& req) {
    using protocol::client_error;
    // Whoever may subscribe to a channel may read what it had (docs/history.md).
    const auto verdict = state_.channels.decide(auth::action::subscribe, req.channel, identity());
    if (!verdict.allowed) return reject(client_error::forbidden, verdict.reason, req.id);
    if (verdict.needs_check)
        return reject(client_error::forbidden,
                      "the history of a channel whose rule has check is read by subscribing "
                      "with recover",
                      req.id);
    if (!state_.channels.history_of(req.channel).on())
        return reject(client_error::invalid_channel, req.channel + " keeps no history", req.id);
    if (state_.events == nullptr)
        return reject(client_error::service_unavailable, "the event bus is not available",
                      req.id);
    const std::size_t max = state_.cfg.history.max_replay;
    const std::size_t limit = std::min(req.limit.value_or(max), max);
    const std::string epoch = req.since ? req.since->epoch : std::string();
    const std::uint64_t after = req.since ? req.since->offset : history::from_oldest;
    state_.events->read_history(
        hub::channel_topic(req.channel), epoch, after, limit,
        [weak = session_.weak_from_this(), this, id = req.id,
         channel = req.channel](std::optional<history::read_result> r) {
            const auto self = weak.lock();
            if (!self || session_.closing()) return;
            if (!r)
                return reject(protocol::client_error::service_unavailable,
                              "the channel's history cannot be read now; retry later", id);
            session_.send(protocol::history_message(id, channel, *r));
        });
}

void client_requests::publish(const protocol::client_request& req) {
    using protocol::client_error;
    const auto verdict = state_.channels.decide(auth::action::publish, req.channel, identity());
    if (!verdict.allowed) return reject(client_error::forbidden, verdict.reason, req.id);
    if (state_.events == nullptr)
        return reject(client_error::service_unavailable, "the event bus is not available",
                      req.id);
    envelope e;
    e.kind = target_kind::channel;
    e.target = req.channel;
    e.event = req.event;
    e.data = req.data;
    state_.stamp(e);
    bus::publish_options how;
    how.history = state_.channels.history_of(req.channel);
    state_.events->publish(e, how, [weak = session_.weak_from_this(), this,
                                    id = req.id](const bus::publish_result& r) {
        const auto self = weak.lock();
        if (!self || session_.closing()) return;
        if (!r.accepted)
            return reject(client_error::service_unavailable,
                          "the event bus is not available; retry later", id);
        ++state_.stats.events_published;
        session_.send(r.at.offset != 0 ? protocol::publish_ack_message(id, r.at)
                                       : protocol::ack_message(id));
    });
}

void client_requests::arm_expiry() {
    if (!who_.expires_at) {
        if (expiry_timer_) expiry_timer_->cancel();
        return;
    }
    // Valid until exp + leeway (the verifier's rule); closed then unless refreshed.
    using namespace std::chrono;
    const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch());
    // Far-future expiries are capped, so the arithmetic cannot overflow.
    const auto exp = std::min<std::int64_t>(*who_.expires_at,
                                            duration_cast<seconds>(now).count() +
                                                max_token_lifetime_s);
    const auto end = duration_cast<milliseconds>(seconds(exp) + state_.cfg.auth.jwt.leeway);
    if (!expiry_timer_)
        expiry_timer_ = std::make_unique<boost::asio::steady_timer>(session_.get_executor());
    expiry_timer_->expires_after(std::max(milliseconds(0), end - now));
    expiry_timer_->async_wait([weak = session_.weak_from_this(), this](
                                  boost::system::error_code ec) {
        const auto self = weak.lock();
        if (ec || !self) return;
        session_.close(close_reason::token_expired, close_code::token_expired, "token expired");
    });
}

void client_requests::forward(const protocol::client_request& req) {
    using protocol::client_error;
    auto found = state_.services.find(req.service);
    if (found == state_.services.end())
        return reject(client_error::unknown_service, "no service named '" + req.service + "'",
                      req.id);
    service& target = *found->second;
    const auto& cfg = target.config();
    if (cfg.users_only && who_.user.empty())
        return reject(client_error::forbidden, req.service + " takes messages from users only",
                      req.id);
    if (req.data.size() > cfg.max_bytes)
        return reject(client_error::too_large,
                      req.service + " takes at most " + std::to_string(cfg.max_bytes) + " bytes",
                      req.id);
    target.forward({session_.id(), who_.user, req.id, req.data},
                   [weak = session_.weak_from_this(), this, id = req.id,
                    name = req.service](service_result r) {
                       const auto self = weak.lock();
                       if (!self || session_.closing()) return;
                       if (r.what == service_result::outcome::failed) {
                           if (r.too_deep) state_.stats.count_too_deep("service");
                           return reject(r.error, r.message, id);
                       }
                       session_.send(protocol::ack_message(id));
                       if (r.what == service_result::outcome::replied)
                           session_.send(
                               protocol::reply_message(id.value_or("null"), name, r.reply));
                   });
}

void client_requests::closed() {
    if (expiry_timer_) expiry_timer_->cancel();
    for (auto& [name, svc] : state_.services) svc->client_left(session_.id());
}

}  // namespace wsgate
