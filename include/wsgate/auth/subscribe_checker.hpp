#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include <wsgate/config/config.hpp>

namespace wsgate::auth {

/// Asks a webhook whether a client may subscribe to a channel, for channel rules with
/// `check` (docs/security.md). Requests go through the `http` service transport
/// (wsgate::http_service): the same pool of keep-alive connections, timeout, queue bound,
/// signature headers and body as a service webhook, with `data` = {"channel": "<channel>"}.
///
///   2xx (any body but the ones below)     allowed
///   2xx {"allow": false[, "reason": "…"]}  denied (the reason, if a string, reaches the client)
///   4xx                                     denied
///   5xx, timeout, unreachable, too many waiting, a 2xx body that is not JSON or an `allow`
///   that is not a boolean                   denied, as `failed` (fail closed, not cached)
///
/// Answers are cached per (user, channel): allowed for `cache_ttl`, denied for
/// min(cache_ttl, max_denied_ttl); failures are never cached. At most `max_entries` answers
/// are kept (the oldest goes first). Checks for a key whose request is under way wait for
/// that request instead of sending another. One connection's checks reach the webhook one at
/// a time (the transport's per-client order), which also keeps one client from filling the pool.
///
/// Single-threaded: use it on its executor's thread only. Like the services, it must live as
/// long as its io_context runs (the transport's connections refer to it).
class subscribe_checker {
public:
    /// Longest a denial is cached, so that a user who was just granted a channel need not wait
    /// a whole cache_ttl.
    static constexpr std::chrono::milliseconds max_denied_ttl{5000};

    /// `done(allowed, reason)`: reason is empty when allowed, otherwise for the client.
    using handler = std::function<void(bool allowed, std::string reason)>;

    /// What happened, for metrics. Webhook outcomes count requests, not the checks they served.
    struct counters {
        std::uint64_t checks = 0;      ///< check() calls
        std::uint64_t cache_hits = 0;  ///< answered from the cache
        std::uint64_t coalesced = 0;   ///< joined a request already under way
        std::uint64_t requests = 0;    ///< sent to the webhook
        std::uint64_t allowed = 0;     ///< the webhook allowed
        std::uint64_t denied = 0;      ///< the webhook denied (4xx or allow: false)
        std::uint64_t failed = 0;      ///< no usable answer: denied, fail closed
    };

    /// `webhook` as for an `http` service (host, port, path, secret, timeout, max_connections,
    /// max_pending); its `name` is the body's "service" field ("subscribe_check" when empty).
    /// A cache_ttl of zero or max_entries of zero caches nothing (requests are still shared).
    subscribe_checker(boost::asio::any_io_executor ex, service_config webhook,
                      std::chrono::milliseconds cache_ttl, std::size_t max_entries);
    /// Pending checks are dropped without their handlers being called.
    ~subscribe_checker();
    subscribe_checker(const subscribe_checker&) = delete;
    subscribe_checker& operator=(const subscribe_checker&) = delete;

    /// May `user` (empty: anonymous) subscribe to `channel`? `connection` is the asking
    /// client's connection id (sent along, and the unit of the transport's ordering). `done`
    /// runs exactly once, never inside this call.
    void check(const std::string& connection, const std::string& user, const std::string& channel,
               handler done);

    const counters& stats() const;
    /// Answers in the cache now, expired ones included until they are next looked at or evicted.
    std::size_t cached() const;

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace wsgate::auth
