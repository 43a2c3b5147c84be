#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <wsgate/bus/bus.hpp>
#include <wsgate/config/config.hpp>
#include <wsgate/hub/hub.hpp>
#include <wsgate/metrics/metrics.hpp>
#include <wsgate/protocol/client_message.hpp>
#include <wsgate/session/session_sweeper.hpp>
#include <wsgate/upstream/service.hpp>

namespace wsgate {

/// What every session and request handler of one process shares. Held by shared_ptr so that
/// sessions still queued on the io_context when the gateway goes away find it intact.
struct shared_state {
    explicit shared_state(config c)
        : cfg(std::move(c)),
          names{cfg.limits.max_channel_length, cfg.limits.channel_chars},
          sweeper(session_sweeper::period_for(std::min(cfg.heartbeat.interval,
                                                       cfg.timeouts.handshake))) {}

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
    /// Backend services by name (docs/services.md); they live as long as the io_context runs.
    std::map<std::string, std::shared_ptr<service>, std::less<>> services;

    std::string next_connection_id() {
        return cfg.server.instance_id + '-' + std::to_string(++connection_seq_);
    }
    std::string next_event_id() {
        return cfg.server.instance_id + ':' + std::to_string(++event_seq_);
    }

private:
    std::uint64_t connection_seq_ = 0;
    std::uint64_t event_seq_ = 0;
};

}  // namespace wsgate
