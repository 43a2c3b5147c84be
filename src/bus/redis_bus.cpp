#include <wsgate/bus/redis_bus.hpp>

#include <boost/asio/post.hpp>

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <wsgate/redis/history_script.hpp>
#include <wsgate/redis/redis_connection.hpp>
#include <wsgate/support/host_port.hpp>

namespace wsgate {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {
constexpr std::string_view canary_prefix = "canary:";
// First reconnect delay; it doubles per failure up to redis.reconnect_max_ms.
constexpr std::chrono::milliseconds first_retry{50};
}  // namespace

struct redis_bus::link {
    link(const net::any_io_executor& ex, const char* link_name) : retry(ex), name(link_name) {}
    std::shared_ptr<redis_connection> conn;
    net::steady_timer retry;
    unsigned failures = 0;
    const char* name;
};

redis_bus::redis_bus(net::any_io_executor ex, const config::redis_section& cfg,
                     std::string instance_id, metrics& stats, options opts)
    : ex_(std::move(ex)),
      cfg_(cfg),
      opts_(opts),
      instance_topic_(wsgate::instance_topic(instance_id)),
      canary_channel_(cfg.prefix + instance_topic_),
      stats_(stats),
      commands_(std::make_unique<link>(ex_, "command")),
      subscriber_(std::make_unique<link>(ex_, "subscriber")),
      canary_timer_(ex_),
      random_(std::random_device{}()) {
    stats_.redis.enabled = true;
}

redis_bus::~redis_bus() {
    // Every caller hears back, as for the commands already sent: those fail when the
    // connection goes with this bus.
    flush_publishes();
}

void redis_bus::start() {
    make_link(*commands_, false);
    make_link(*subscriber_, true);
    commands_->conn->connect();
    subscriber_->conn->connect();
    canary_tick();
}

void redis_bus::make_link(link& l, bool subscriber) {
    std::weak_ptr<redis_bus> weak = weak_from_this();
    redis_connection::handlers h;
    h.on_up = [weak, &l] {
        if (auto self = weak.lock()) self->link_up(l);
    };
    h.on_down = [weak, &l](const std::string& why) {
        if (auto self = weak.lock()) self->link_down(l, why);
    };
    if (subscriber) {
        h.on_message = [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock()) self->on_message(channel, payload);
        };
        h.on_subscription = [weak](std::string_view channel, bool subscribed) {
            if (auto self = weak.lock()) self->on_subscription(channel, subscribed);
        };
    }
    l.conn = std::make_shared<redis_connection>(ex_, *cfg_.address, cfg_.timeout, l.name,
                                                std::move(h));
}

void redis_bus::link_up(link& l) {
    spdlog::info("redis {} connection up ({})", l.name,
                 format_host_port(cfg_.address->host, cfg_.address->port));
    l.failures = 0;
    if (&l == commands_.get()) {
        // Loaded once per connection, ahead of any EVALSHA on it (commands keep their order).
        for (const auto* s : {&redis_history::publish_script(), &redis_history::read_script()})
            l.conn->command({"SCRIPT", "LOAD", s->text}, [](const redisReply*) {});
    }
    if (&l == subscriber_.get()) {
        // A new subscriber connection has no subscriptions: ask for all that is needed.
        ++subscriber_links_;
        topics_.reset();
        flush_subscriptions();
    }
    update_gauges();
}

void redis_bus::link_down(link& l, const std::string& why) {
    spdlog::warn("redis {} connection down: {}", l.name, why);
    canary_ok_ = false;
    canary_sent_.reset();
    if (&l == subscriber_.get()) topics_.reset();
    ++(&l == commands_.get() ? stats_.redis.command_reconnects : stats_.redis.subscriber_reconnects);
    // Capped exponential backoff with jitter, so that many instances do not return at once.
    const auto cap = cfg_.reconnect_max;
    auto delay = first_retry * (1u << std::min(l.failures, 16u));
    if (delay > cap) delay = cap;
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    ++l.failures;
    l.retry.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(delay *
                                                                                jitter(random_)));
    l.retry.async_wait([weak = weak_from_this(), &l](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec) l.conn->connect();
    });
    update_gauges();
}

struct redis_bus::pending_publish {
    std::string topic;
    std::string payload;
    publish_options how;
    std::string id;
    publish_callback done;
    bool scripted() const { return how.history.on() || !how.idempotency_key.empty(); }
};

namespace {
// The most events, and about the most bytes, one call of the publish script carries.
constexpr std::size_t max_run_events = 100;
constexpr std::size_t max_run_bytes = 256 * 1024;
}  // namespace

void redis_bus::publish(const envelope& e, const publish_options& how, publish_callback done) {
    pending_publish p{topic_of(e), encode(e), how, e.id, std::move(done)};
    // Nothing waiting, and nothing to append: a plain PUBLISH, now.
    if (pending_publishes_.empty() && !p.scripted()) return send_plain(p);
    // Publications of this turn of the loop go out together at its end, in order, so that
    // consecutive ones to one stream (a batch) share one call of the script.
    if (pending_publishes_.empty()) {
        net::post(ex_, [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->flush_publishes();
        });
    }
    pending_publishes_.push_back(std::move(p));
}

void redis_bus::flush_publishes() {
    auto all = std::move(pending_publishes_);
    pending_publishes_.clear();
    for (std::size_t i = 0; i < all.size();) {
        if (!all[i].scripted()) {
            send_plain(all[i++]);
            continue;
        }
        std::size_t end = i + 1, bytes = all[i].payload.size();
        while (end < all.size() && end - i < max_run_events && bytes < max_run_bytes &&
               all[end].scripted() && all[end].topic == all[i].topic &&
               all[end].how.history.size == all[i].how.history.size &&
               all[end].how.history.ttl == all[i].how.history.ttl) {
            bytes += all[end].payload.size();
            ++end;
        }
        send_run(all, i, end);
        i = end;
    }
}

void redis_bus::send_plain(pending_publish& p) {
    metrics* stats = &stats_;
    publish_result r;
    r.id = p.id;
    const bool sent = commands_->conn && commands_->conn->command(
        {"PUBLISH", cfg_.prefix + p.topic, p.payload},
        [stats, done = p.done, r](const redisReply* reply) mutable {
            // Pipelined: the reply only says whether Redis took it.
            r.accepted = reply != nullptr && reply->type == REDIS_REPLY_INTEGER;
            ++(r.accepted ? stats->redis.published : stats->redis.publish_failures);
            if (done) done(r);
        });
    if (!sent) {
        ++stats_.redis.publish_failures;
        if (p.done) p.done(r);
    }
}

void redis_bus::send_run(std::vector<pending_publish>& all, std::size_t from, std::size_t to) {
    const std::string epoch = history::new_epoch();
    redis_history::run run{cfg_.prefix, all[from].topic, all[from].how.history,
                           opts_.idempotency_window, epoch, {}};
    for (std::size_t k = from; k < to; ++k)
        run.events.push_back({all[k].payload, all[k].how.idempotency_key, all[k].id});
    auto args = redis_history::publish_args(run);
    struct waiting {
        std::string id;
        publish_callback done;
    };
    std::vector<waiting> callers;
    for (std::size_t k = from; k < to; ++k) callers.push_back({all[k].id, std::move(all[k].done)});
    metrics* stats = &stats_;
    auto answer_all = [stats](std::vector<waiting>& who, const redisReply* reply) {
        const auto answers = redis_history::parse_publish_reply(reply, who.size());
        for (std::size_t k = 0; k < who.size(); ++k) {
            publish_result r;
            r.id = who[k].id;
            r.accepted = answers.has_value();
            if (answers) {
                r.duplicate = (*answers)[k].duplicate;
                r.id = (*answers)[k].id;
                r.at = (*answers)[k].at;
            }
            ++(r.accepted ? stats->redis.published : stats->redis.publish_failures);
            if (who[k].done) who[k].done(r);
        }
    };
    auto shared = std::make_shared<std::vector<waiting>>(std::move(callers));
    const auto& script = redis_history::publish_script();
    const bool sent = run_script(script.text, script.sha1, std::move(args),
                                 [shared, answer_all](const redisReply* reply) {
                                     answer_all(*shared, reply);
                                 });
    if (!sent) answer_all(*shared, nullptr);
}

bool redis_bus::run_script(std::string_view text, const std::string& sha1,
                           std::vector<std::string> args, reply_handler on_reply) {
    if (!commands_->conn) return false;
    std::vector<std::string_view> call{"EVALSHA", sha1};
    call.insert(call.end(), args.begin(), args.end());
    std::weak_ptr<redis_connection> weak = commands_->conn;
    // The arguments are kept only for the rare resend as EVAL.
    return commands_->conn->command(call, [weak, text, args = std::move(args),
                                           on_reply = std::move(on_reply)](const redisReply* r) {
        auto conn = weak.lock();
        if (!conn || !redis_history::is_noscript(r)) return on_reply(r);
        std::vector<std::string_view> again{"EVAL", text};
        again.insert(again.end(), args.begin(), args.end());
        if (!conn->command(again, on_reply)) on_reply(nullptr);
    });
}

void redis_bus::read_history(const std::string& topic, const std::string& epoch,
                             std::uint64_t after, std::size_t limit, read_callback done) {
    const auto& script = redis_history::read_script();
    auto args = redis_history::read_args(cfg_.prefix, topic, epoch, after, limit);
    const std::size_t depth = opts_.json_max_depth;
    auto shared_done = std::make_shared<read_callback>(std::move(done));
    const bool sent = run_script(script.text, script.sha1, std::move(args),
                                 [shared_done, depth](const redisReply* reply) {
                                     (*shared_done)(redis_history::parse_read_reply(reply, depth));
                                 });
    if (!sent) net::post(ex_, [shared_done] { (*shared_done)(std::nullopt); });
}

void redis_bus::remove_history(const std::string& topic, std::function<void(bool)> done) {
    const auto command = redis_history::remove_command(cfg_.prefix, topic);
    const bool sent = commands_->conn && commands_->conn->command(
        {command.begin(), command.end()}, [done](const redisReply* reply) {
            done(reply != nullptr && reply->type == REDIS_REPLY_INTEGER);
        });
    if (!sent) net::post(ex_, [done] { done(false); });
}

void redis_bus::append_to_stream(const std::string& stream, const std::string& body,
                                 std::size_t max_length, std::function<void(bool)> done) {
    const std::string max = std::to_string(max_length);
    const bool sent = commands_->conn && commands_->conn->command(
        {"XADD", stream, "MAXLEN", "~", max, "*", "body", body},
        [done](const redisReply* reply) {
            done(reply != nullptr && reply->type == REDIS_REPLY_STRING);
        });
    if (!sent) net::post(ex_, [done] { done(false); });
}

void redis_bus::subscribe(const std::string& topic) {
    topics_.want(topic);
    schedule_flush();
}

void redis_bus::unsubscribe(const std::string& topic) {
    topics_.drop(topic);
    release_waiting(topic);
    schedule_flush();
}

void redis_bus::when_subscribed(const std::string& topic, std::function<void()> in_force) {
    if (topics_.is_confirmed(topic) && subscriber_->conn && subscriber_->conn->up())
        return in_force();
    waiting_[topic].push_back(std::move(in_force));
}

void redis_bus::release_waiting(const std::string& topic) {
    auto it = waiting_.find(topic);
    if (it == waiting_.end()) return;
    auto callbacks = std::move(it->second);
    waiting_.erase(it);
    for (auto& cb : callbacks) cb();
}

bool redis_bus::ready() const {
    return commands_->conn && commands_->conn->up() && subscriber_->conn &&
           subscriber_->conn->up() && topics_.in_force() && canary_ok_;
}

void redis_bus::schedule_flush() {
    // Everything that changes during one turn of the loop goes out as one command.
    if (flush_posted_) return;
    flush_posted_ = true;
    net::post(ex_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->flush_posted_ = false;
            self->flush_subscriptions();
        }
    });
}

void redis_bus::flush_subscriptions() {
    auto& conn = subscriber_->conn;
    if (!conn || !conn->up() || !topics_.has_changes()) return update_gauges();
    auto batch = topics_.take_batch();
    for (auto* list : {&batch.subscribe, &batch.unsubscribe}) {
        for (auto& topic : *list) topic.insert(0, cfg_.prefix);
    }
    const bool ok = (batch.subscribe.empty() || conn->subscribe(batch.subscribe, true)) &&
                    (batch.unsubscribe.empty() || conn->subscribe(batch.unsubscribe, false));
    spdlog::debug("redis: subscribing {} and unsubscribing {} channels", batch.subscribe.size(),
                  batch.unsubscribe.size());
    if (!ok) conn->disconnect("SUBSCRIBE could not be sent");
    update_gauges();
}

void redis_bus::on_subscription(std::string_view channel, bool subscribed) {
    spdlog::debug("redis: {} {}", subscribed ? "subscribed" : "unsubscribed", channel);
    if (channel.substr(0, cfg_.prefix.size()) != cfg_.prefix) return;
    const bool was_in_force = topics_.in_force();
    const std::string topic(channel.substr(cfg_.prefix.size()));
    topics_.confirmed(topic, subscribed);
    if (subscribed) {
        release_waiting(topic);
        // Not the first connection: this topic's events of the meantime never came.
        if (subscriber_links_ > 1 && resubscribed_) resubscribed_(topic);
    }
    // Every needed channel is back: prove the path end to end now rather than at the next tick.
    if (!was_in_force && topics_.in_force() && !canary_sent_) send_canary();
    update_gauges();
}

void redis_bus::on_message(std::string_view channel, std::string_view payload) {
    if (channel == canary_channel_ && payload.substr(0, canary_prefix.size()) == canary_prefix) {
        if (canary_sent_ && payload.substr(canary_prefix.size()) == std::to_string(canary_seq_)) {
            const std::chrono::duration<double> lag = clock_type::now() - *canary_sent_;
            stats_.redis.pubsub_lag_seconds = lag.count();
            canary_sent_.reset();
            canary_ok_ = true;
            update_gauges();
        }
        return;
    }
    bool too_deep = false;
    auto e = decode_envelope(payload, opts_.json_max_depth, &too_deep);
    if (!e) {
        ++stats_.redis.bad_messages;
        if (too_deep) stats_.count_too_deep("redis");
        spdlog::warn("redis: dropped a malformed message on {}", channel);
        return;
    }
    ++stats_.redis.received;
    if (handler_) handler_(*e);
}

void redis_bus::canary_tick() {
    if (canary_sent_ && clock_type::now() - *canary_sent_ > cfg_.timeout) {
        // Published but never heard back: the subscriber connection is deaf (or Redis hangs).
        canary_ok_ = false;
        canary_sent_.reset();
        if (subscriber_->conn) subscriber_->conn->disconnect("canary did not come back");
    }
    if (!canary_sent_) send_canary();
    canary_timer_.expires_after(cfg_.canary_interval);
    canary_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec) self->canary_tick();
    });
}

void redis_bus::send_canary() {
    if (!subscriber_->conn || !subscriber_->conn->up() || !topics_.in_force()) return;
    const std::string payload = std::string(canary_prefix) + std::to_string(++canary_seq_);
    auto weak = weak_from_this();
    const bool sent = commands_->conn && commands_->conn->command(
        {"PUBLISH", canary_channel_, payload}, [weak](const redisReply* reply) {
            auto self = weak.lock();
            if (self && (reply == nullptr || reply->type != REDIS_REPLY_INTEGER)) {
                self->canary_ok_ = false;
                self->canary_sent_.reset();
            }
        });
    if (sent) canary_sent_ = clock_type::now();
}

void redis_bus::update_gauges() {
    auto& r = stats_.redis;
    r.command_up = commands_->conn && commands_->conn->up();
    r.subscriber_up = subscriber_->conn && subscriber_->conn->up();
    r.ready = ready();
    r.topics = topics_.wanted();
}

}  // namespace wsgate
