#include <wsgate/app/gateway.hpp>

#include <boost/asio/ip/address.hpp>

#include <spdlog/spdlog.h>

#include <wsgate/auth/subscribe_checker.hpp>
#include <wsgate/bus/local_bus.hpp>
#include <wsgate/bus/redis_bus.hpp>
#include <wsgate/history/stream_repair.hpp>
#include <wsgate/tls/tls_context.hpp>
#include <wsgate/upstream/http_service.hpp>
#include <wsgate/upstream/queue_service.hpp>
#include <wsgate/upstream/ws_service.hpp>

#include <wsgate/protocol/server_message.hpp>

namespace wsgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Subscribe-check answers kept at most (per user and channel).
constexpr std::size_t subscribe_check_cache_entries = 10000;

tcp::endpoint resolve(const endpoint_config& e) {
    const std::string host = e.host == "localhost" ? "127.0.0.1" : e.host;
    return {net::ip::make_address(host), e.port};
}

// How often shutdown checks whether every client has gone.
constexpr std::chrono::milliseconds drain_poll{20};
// The bus topics of a channel and of a user (hub::channel_topic(), hub::user_topic()).
constexpr std::string_view channel_prefix = hub::channel_topic_prefix;
constexpr std::string_view user_prefix = hub::user_topic_prefix;

}  // namespace

gateway::gateway(net::io_context& ioc, config cfg)
    : ioc_(ioc),
      state_(std::make_shared<shared_state>(std::move(cfg))),
      signals_(ioc, SIGINT, SIGTERM),
      reload_signals_(ioc, SIGHUP),
      drain_timer_(ioc),
      random_(std::random_device{}()) {
    const auto& server = state_->cfg.server;
    const auto public_role =
        server.separate_api ? listener_role::public_only : listener_role::public_and_api;
    const auto& tls = state_->cfg.tls;
    if (tls.enabled()) {
        try {
            tls_ = std::make_shared<tls_context>(tls.cert_file, tls.key_file);
        } catch (const std::runtime_error& e) {
            // Read once already by the configuration check; a file that changed since is as
            // much a configuration error as one that was bad from the start.
            throw config_error(e.what());
        }
        spdlog::info("TLS on {}: {}", tls.api ? "both listeners" : "server.listen",
                     tls_->describe());
    }
    public_ = std::make_shared<listener>(ioc, resolve(server.listen), state_, public_role, tls_);
    if (server.separate_api)
        api_ = std::make_shared<listener>(ioc, resolve(server.api_listen), state_,
                                          listener_role::api_only,
                                          tls.api ? tls_ : nullptr);

    std::shared_ptr<redis_bus> redis;
    if (state_->cfg.redis.address) {
        redis = std::make_shared<redis_bus>(
            ioc.get_executor(), state_->cfg.redis, server.instance_id, state_->stats,
            redis_bus::options{state_->cfg.limits.json_max_depth,
                               state_->cfg.history.idempotency_window});
        start_bus_ = [redis] { redis->start(); };
        bus_ = redis;
    } else {
        const auto& h = state_->cfg.history;
        bus_ = std::make_shared<local_bus>(
            ioc.get_executor(),
            local_bus::limits{h.memory_bytes, h.idempotency_window, h.idempotency_keys});
    }
    for (const auto& [name, service_cfg] : state_->cfg.services)
        state_->services.emplace(name, make_service(ioc, service_cfg, redis));
    if (const auto& check = state_->cfg.auth.subscribe_check; !check.url.empty())
        state_->subscribe_check = std::make_unique<auth::subscribe_checker>(
            ioc.get_executor(), check.webhook, check.cache, subscribe_check_cache_entries);
    state_->events = bus_.get();
    bus_->on_message([this](const envelope& e) { on_bus_message(e); });
    // Topics every instance always needs: its own connections', and broadcasts.
    bus_->subscribe(instance_topic(server.instance_id));
    bus_->subscribe(broadcast_topic());
    if (redis) start_stream_repair(*redis);
    state_->clients.set_topic_callback([this](const std::string& topic, bool active) {
        if (active)
            bus_->subscribe(topic);
        else
            bus_->unsubscribe(topic);
        if (!repair_) return;
        if (!active) return repair_->unwatch(topic);
        if (keeps_history(topic)) repair_->watch(topic);
    });
}

void gateway::start_stream_repair(redis_bus& redis) {
    const auto& h = state_->cfg.history;
    history::stream_repair::options opts;
    opts.max_events = h.max_replay;
    opts.give_up = h.repair_timeout;
    auto report = [this](const std::string& topic, const history::stream_repair::gap& g) {
        const history::position at = g.upto.value_or(history::position{});
        if (topic.rfind(channel_prefix, 0) == 0) {
            const std::string channel = topic.substr(channel_prefix.size());
            const auto frame = make_text_frame(protocol::gap_message(channel, g.after, g.upto));
            state_->clients.send_to_channel(channel, frame, at);
        } else if (topic.rfind(user_prefix, 0) == 0) {
            const std::string user = topic.substr(user_prefix.size());
            const auto frame = make_text_frame(protocol::user_gap_message(user, g.after, g.upto));
            state_->clients.send_to_user(user, frame, at);
        }
    };
    repair_ = std::make_shared<history::stream_repair>(
        ioc_.get_executor(), redis, opts, state_->stats.history,
        [this](const envelope& e) { dispatch(e); }, std::move(report));
    redis.on_resubscribed([this](const std::string& topic) { repair_->resync(topic); });
}

bool gateway::keeps_history(const std::string& topic) const {
    if (topic.rfind(channel_prefix, 0) == 0)
        return state_->channels.history_of(topic.substr(channel_prefix.size())).on();
    return topic.rfind(user_prefix, 0) == 0 && state_->cfg.history.user_size > 0;
}

std::shared_ptr<service> gateway::make_service(net::io_context& ioc, const service_config& cfg,
                                               const std::shared_ptr<redis_bus>& redis) {
    if (cfg.transport == "queue") return std::make_shared<queue_service>(cfg, redis);
    if (cfg.transport == "websocket") {
        // Frames from the service go to the client's own queue on this instance.
        auto push = [state = std::weak_ptr<shared_state>(state_)](const std::string& conn,
                                                                  std::string text) {
            if (auto s = state.lock()) s->clients.send_to_connection(conn, make_text_frame(text));
        };
        return std::make_shared<ws_service>(ioc.get_executor(), cfg, push);
    }
    return std::make_shared<http_service>(ioc.get_executor(), cfg);
}

gateway::~gateway() {
    // Sessions may outlive the gateway (their handlers sit in the io_context until it is
    // destroyed): cut every path from them back to what dies here.
    state_->clients.set_topic_callback(nullptr);
    state_->events = nullptr;
    bus_->on_message(nullptr);
    bus_->on_resubscribed(nullptr);
}

void gateway::start() {
    if (start_bus_) start_bus_();
    public_->start();
    if (api_) api_->start();
    signals_.async_wait([this](boost::system::error_code ec, int signo) {
        if (ec) return;
        spdlog::info("signal {}: shutting down (drain up to {} ms)", signo,
                     state_->cfg.shutdown.drain.count());
        shutdown();
    });
    wait_for_reload_signal();
}

void gateway::wait_for_reload_signal() {
    reload_signals_.async_wait([this](boost::system::error_code ec, int) {
        if (ec) return;
        reload_tls();
        wait_for_reload_signal();
    });
}

void gateway::reload_tls() {
    if (!tls_) {
        spdlog::info("SIGHUP: nothing to reload (no tls.cert_file)");
        return;
    }
    if (auto failure = tls_->reload(); !failure.empty()) {
        state_->stats.count_error("tls", "reload_failed");
        spdlog::error("SIGHUP: TLS certificate not reloaded, the current one stays: {}", failure);
        return;
    }
    ++state_->stats.tls_reloads;
    spdlog::info("SIGHUP: TLS certificate reloaded for new connections: {}", tls_->describe());
}

void gateway::on_bus_message(const envelope& e) {
    ++state_->stats.events_received;
    // Events with an offset (on a channel, to a user) go through the repair, which delivers
    // them in order.
    if (repair_ && e.offset != 0) return repair_->on_event(e);
    dispatch(e);
}

void gateway::dispatch(const envelope& e) {
    // Serialized once here and shared by every recipient's queue.
    const frame_ptr frame = make_text_frame(protocol::client_text(e));
    auto& hub = state_->clients;
    switch (e.kind) {
        case target_kind::channel:
            hub.send_to_channel(e.target, frame, {e.epoch, e.offset});
            break;
        case target_kind::user: hub.send_to_user(e.target, frame, {e.epoch, e.offset}); break;
        case target_kind::connection: hub.send_to_connection(e.target, frame); break;
        case target_kind::broadcast: hub.send_to_all(frame); break;
    }
}

void gateway::shutdown() {
    if (state_->draining) return;
    state_->draining = true;
    signals_.cancel();
    reload_signals_.cancel();
    public_->stop();
    if (api_) api_->stop();

    // Spread the closes over the first half of the drain window, each with its own suggested
    // reconnect delay, so that clients do not all reconnect elsewhere in the same instant.
    const auto& cfg = state_->cfg.shutdown;
    std::uniform_int_distribution<long long> close_at(0, cfg.drain.count() / 2);
    std::uniform_int_distribution<long long> reconnect(0, cfg.reconnect_max.count());
    state_->clients.for_each([&](subscriber& s) {
        s.go_away(std::chrono::milliseconds(close_at(random_)),
                  std::chrono::milliseconds(reconnect(random_)));
    });
    drain_deadline_ = std::chrono::steady_clock::now() + cfg.drain;
    watch_drain();
}

void gateway::watch_drain() {
    const auto left = state_->clients.connections();
    if (left == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
        if (left > 0) spdlog::warn("drain time over with {} clients still open", left);
        spdlog::info("shutdown complete");
        ioc_.stop();
        return;
    }
    drain_timer_.expires_after(drain_poll);
    drain_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) watch_drain();
    });
}

}  // namespace wsgate
