#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <wsgate/auth/channel_policy.hpp>
#include <wsgate/auth/jwt.hpp>
#include <wsgate/auth/origin_policy.hpp>
#include <wsgate/bus/envelope.hpp>
#include <wsgate/bus/bus.hpp>
#include <wsgate/config/config.hpp>
#include <wsgate/hub/hub.hpp>
#include <wsgate/limits/connection_limiter.hpp>
#include <wsgate/limits/proxy_trust.hpp>
#include <wsgate/limits/token_bucket.hpp>
#include <wsgate/metrics/metrics.hpp>
#include <wsgate/protocol/client_message.hpp>
#include <wsgate/session/session_sweeper.hpp>
#include <wsgate/upstream/service.hpp>

namespace wsgate {

namespace auth {
class subscribe_checker;
}

/// What every session and request handler of one process shares. Held by shared_ptr so that
/// sessions still queued on the io_context when the gateway goes away find it intact.
struct shared_state {
    explicit shared_state(config c);
    ~shared_state();

    shared_state(const shared_state&) = delete;
    shared_state& operator=(const shared_state&) = delete;

    const config cfg;
    /// Rules for channel names and user ids.
    const protocol::name_rules names;
    metrics stats;
    hub clients;
    /// Heartbeats and close-handshake deadlines of every client connection, on one timer.
    session_sweeper sweeper;
    bus* events = nullptr;  ///< set by the gateway; cleared before it goes away
    bool draining = false;  ///< shutdown has begun
    /// Verifies client tokens; none when auth.jwt.algorithm is not set.
    const std::optional<auth::jwt_verifier> tokens;
    /// Who may subscribe and publish where.
    const auth::channel_policy channels;
    /// The subscribe-check webhook, when configured (set by the gateway, like the services).
    std::unique_ptr<auth::subscribe_checker> subscribe_check;
    /// Which browser origins may open WebSockets.
    const auth::origin_policy origins;
    /// Whose X-Forwarded-For names the client.
    const proxy_trust proxies;
    /// WebSocket clients, in total and per client address.
    connection_limiter connections;
    /// Publish rate per API key ("" without keys), made on first use.
    std::map<std::string, token_bucket, std::less<>> publish_buckets;
    /// Backend services by name (docs/services.md); they live as long as the io_context runs.
    std::map<std::string, std::shared_ptr<service>, std::less<>> services;

    std::string next_connection_id() {
        return cfg.server.instance_id + '-' + std::to_string(++connection_seq_);
    }
    std::string next_event_id() {
        return cfg.server.instance_id + ':' + std::to_string(++event_seq_);
    }
    /// Gives an event published here its id, origin and ingest time.
    void stamp(envelope& e);
    /// How much history `e`'s stream keeps: its channel rule's, for events on a channel;
    /// history.user_size, for events to a user; none for other targets (docs/history.md).
    history::policy history_of(const envelope& e) const {
        if (e.frame != frame_kind::event) return {};
        if (e.kind == target_kind::channel) return channels.history_of(e.target);
        if (e.kind == target_kind::user) return {cfg.history.user_size, cfg.history.user_ttl};
        return {};
    }
    /// Checks a client's token now (auth.jwt); the subject must also be a valid user id.
    /// Only when `tokens` is set.
    std::variant<auth::jwt_identity, auth::jwt_error> verify_token(std::string_view token) const;

private:
    std::uint64_t connection_seq_ = 0;
    std::uint64_t event_seq_ = 0;
};

}  // namespace wsgate
