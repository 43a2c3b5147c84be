#include <wsgate/auth/subscribe_checker.hpp>

#include <algorithm>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <wsgate/upstream/http_service.hpp>

namespace wsgate::auth {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

/// Unambiguous whatever the user id holds: its length comes first.
std::string cache_key(const std::string& user, const std::string& channel) {
    return std::to_string(user.size()) + ":" + user + channel;
}

struct verdict {
    enum class kind { allowed, denied, failed } what;
    std::string reason;
};

/// What the webhook's answer means for `channel`.
verdict judge(const service_result& r, const std::string& channel) {
    const std::string refused = "the subscribe check refused channel " + quoted(channel);
    const std::string unavailable =
        "the subscribe check for channel " + quoted(channel) + " is unavailable, try again later";
    switch (r.what) {
        case service_result::outcome::accepted: return {verdict::kind::allowed, {}};
        case service_result::outcome::replied: {
            // The transport only replies with JSON it parsed.
            const auto reply = nlohmann::json::parse(r.reply, nullptr, false);
            if (!reply.is_object() || !reply.contains("allow")) return {verdict::kind::allowed, {}};
            const auto& allow = reply["allow"];
            if (!allow.is_boolean()) return {verdict::kind::failed, unavailable};
            if (allow.get<bool>()) return {verdict::kind::allowed, {}};
            const auto why = reply.find("reason");
            if (why != reply.end() && why->is_string() && !why->get_ref<const std::string&>().empty())
                return {verdict::kind::denied, refused + ": " + why->get<std::string>()};
            return {verdict::kind::denied, refused};
        }
        case service_result::outcome::failed:
            if (r.error == protocol::client_error::rejected) return {verdict::kind::denied, refused};
            return {verdict::kind::failed, unavailable};
    }
    return {verdict::kind::failed, unavailable};
}

}  // namespace

struct subscribe_checker::state {
    struct entry {
        bool allowed = false;
        std::string reason;
        clock_type::time_point expires;
        std::list<std::string>::iterator position;  ///< in `order`
    };

    net::any_io_executor ex;
    std::shared_ptr<http_service> webhook;
    std::chrono::milliseconds ttl;
    std::size_t max_entries;
    counters stats;
    std::unordered_map<std::string, entry> cache;
    std::list<std::string> order;  ///< cache keys, oldest first
    std::unordered_map<std::string, std::vector<handler>> pending;  ///< keys asked, their waiters

    state(net::any_io_executor e, service_config cfg, std::chrono::milliseconds cache_ttl,
          std::size_t max)
        : ex(e), webhook(std::make_shared<http_service>(std::move(e), std::move(cfg))),
          ttl(cache_ttl), max_entries(max) {}

    void forget(std::unordered_map<std::string, entry>::iterator it) {
        order.erase(it->second.position);
        cache.erase(it);
    }

    void remember(const std::string& key, bool allowed, const std::string& reason) {
        const auto lifetime = allowed ? ttl : std::min(ttl, max_denied_ttl);
        if (lifetime.count() <= 0 || max_entries == 0) return;
        if (auto it = cache.find(key); it != cache.end()) forget(it);
        while (cache.size() >= max_entries) forget(cache.find(order.front()));
        order.push_back(key);
        cache.emplace(key, entry{allowed, reason, clock_type::now() + lifetime, std::prev(order.end())});
    }

    void answered(const std::string& key, const std::string& user, const std::string& channel,
                  const service_result& r) {
        const verdict v = judge(r, channel);
        switch (v.what) {
            case verdict::kind::allowed: ++stats.allowed; break;
            case verdict::kind::denied: ++stats.denied; break;
            case verdict::kind::failed:
                ++stats.failed;
                spdlog::warn("subscribe check for {} on channel {} failed (denied): {}",
                             user.empty() ? "an anonymous client" : "user " + user, channel,
                             r.what == service_result::outcome::failed
                                 ? r.message
                                 : "unusable answer " + r.reply.substr(0, 200));
                break;
        }
        const bool allowed = v.what == verdict::kind::allowed;
        if (v.what != verdict::kind::failed) remember(key, allowed, v.reason);
        auto waiters = std::move(pending[key]);
        pending.erase(key);
        for (auto& done : waiters) done(allowed, v.reason);
    }
};

subscribe_checker::subscribe_checker(net::any_io_executor ex, service_config webhook,
                                     std::chrono::milliseconds cache_ttl, std::size_t max_entries) {
    if (webhook.name.empty()) webhook.name = "subscribe_check";
    state_ = std::make_shared<state>(std::move(ex), std::move(webhook), cache_ttl, max_entries);
}

subscribe_checker::~subscribe_checker() = default;

void subscribe_checker::check(const std::string& connection, const std::string& user,
                              const std::string& channel, handler done) {
    auto& s = *state_;
    ++s.stats.checks;
    std::string key = cache_key(user, channel);
    if (auto it = s.cache.find(key); it != s.cache.end()) {
        if (it->second.expires > clock_type::now()) {
            ++s.stats.cache_hits;
            net::post(s.ex, [done = std::move(done), allowed = it->second.allowed,
                             reason = it->second.reason]() mutable {
                done(allowed, std::move(reason));
            });
            return;
        }
        s.forget(it);
    }
    if (auto it = s.pending.find(key); it != s.pending.end()) {
        ++s.stats.coalesced;
        it->second.push_back(std::move(done));
        return;
    }
    s.pending[key].push_back(std::move(done));
    ++s.stats.requests;
    client_message m{connection, user, std::nullopt, nlohmann::json{{"channel", channel}}.dump()};
    s.webhook->forward(std::move(m), [weak = std::weak_ptr<state>(state_), key = std::move(key),
                                      user, channel](service_result r) {
        if (auto self = weak.lock()) self->answered(key, user, channel, r);
    });
}

const subscribe_checker::counters& subscribe_checker::stats() const { return state_->stats; }

std::size_t subscribe_checker::cached() const { return state_->cache.size(); }

}  // namespace wsgate::auth
