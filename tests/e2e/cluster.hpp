#pragma once

// A Redis-backed wsgate cluster on loopback for the end-to-end tests: one real redis-server,
// three wsgate instances (instance ids a, b, c) sharing it, and optionally HAProxy in front.
// Header-only, so that the e2e executable needs nothing beyond e2e/*_test.cpp and support/.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway_process.hpp"
#include "haproxy_process.hpp"
#include "http_client.hpp"
#include "polling.hpp"
#include "redis_process.hpp"
#include "test_io.hpp"
#include "ws_client.hpp"

namespace wsgate::test::e2e {

using namespace std::chrono_literals;

inline const std::string redis_prefix = "wsgate:";

/// `a-17` → `a`: the instance a connection id (or event id) belongs to.
inline std::string instance_of(const std::string& id) {
    const auto dash = id.rfind('-');
    const auto colon = id.rfind(':');
    const auto cut = dash != std::string::npos ? dash : colon;
    return cut == std::string::npos ? std::string() : id.substr(0, cut);
}

/// "ready", "not_ready", or "down" when the instance does not answer.
inline std::string readiness(std::uint16_t port) {
    try {
        const auto res = http_client(port, 2s).get("/readyz");
        if (res.status == 200 && res.json == nlohmann::json{{"status", "ready"}}) {
            return "ready";
        }
        if (res.status == 503 && res.json.is_object()) {
            return res.json.value("status", "503");
        }
        return std::to_string(res.status) + " " + res.body;
    } catch (const std::exception&) {
        return "down";
    }
}

class cluster {
  public:
    static constexpr std::array<const char*, 3> ids{"a", "b", "c"};

    /// Starts Redis and the three instances and waits until all are ready; with `load_balancer`
    /// also HAProxy in front of them. `extra_args` go to every instance.
    explicit cluster(bool load_balancer = false, const std::vector<std::string>& extra_args = {}) {
        for (const char* id : ids) {
            std::vector<std::string> args{"--redis.url",          redis.url(),
                                          "--server.instance_id", id,
                                          "--auth.insecure_dev_user", "true"};
            args.insert(args.end(), extra_args.begin(), extra_args.end());
            gateways.push_back(std::make_unique<gateway_process>(args));
        }
        if (!wait_until([&] { return all_ready(); }, 10s, 20ms)) {
            throw std::runtime_error("the three instances were not ready within 10 s: " +
                                     readiness_summary());
        }
        if (load_balancer) {
            lb = std::make_unique<haproxy_process>(std::vector<std::uint16_t>{
                port(0), port(1), port(2)});
        }
    }

    gateway_process& gw(std::size_t i) { return *gateways.at(i); }
    std::uint16_t port(std::size_t i) const { return gateways.at(i)->public_port(); }
    http_client api(std::size_t i) const { return http_client(gateways.at(i)->api_port()); }
    http_client lb_api() const { return http_client(lb->port()); }

    double metric(std::size_t i, const std::string& series) const {
        return api(i).metric(series);
    }

    bool all_ready() const {
        for (std::size_t i = 0; i < gateways.size(); ++i) {
            if (readiness(port(i)) != "ready") {
                return false;
            }
        }
        return true;
    }
    /// True when no instance answers /readyz with 200.
    bool none_ready() const {
        for (std::size_t i = 0; i < gateways.size(); ++i) {
            if (readiness(port(i)) == "ready") {
                return false;
            }
        }
        return true;
    }
    std::string readiness_summary() const {
        std::string out;
        for (std::size_t i = 0; i < gateways.size(); ++i) {
            out += std::string(out.empty() ? "" : ", ") + ids[i] + "=" + readiness(port(i));
        }
        return out;
    }

    /// Waits until Redis counts `expected` subscribers on `<prefix><topic>` (e.g. `ch:news`):
    /// a client's subscribe is acknowledged before its instance's SUBSCRIBE reaches Redis, so a
    /// test publishing from another instance must wait for it. Records a failure on timeout.
    void wait_numsub(const std::string& topic, long long expected,
                     std::chrono::milliseconds timeout = 5s) {
        long long seen = -1;
        const bool ok = wait_until(
            [&] { return (seen = redis.numsub(redis_prefix + topic)) == expected; }, timeout,
            20ms);
        EXPECT_TRUE(ok) << "PUBSUB NUMSUB " << redis_prefix << topic << " stayed " << seen
                        << ", expected " << expected;
    }

    redis_process redis;
    std::vector<std::unique_ptr<gateway_process>> gateways;
    std::unique_ptr<haproxy_process> lb;
};

/// Reads `count` frames from `client` and checks that they are the events `ids` (in that order)
/// named `event`, with data {"seq": first_seq + k}.
inline void expect_sequence(ws_client& client, const std::vector<std::string>& event_ids,
                            const std::string& event, const std::optional<std::string>& channel,
                            int first_seq = 0) {
    for (std::size_t k = 0; k < event_ids.size(); ++k) {
        const nlohmann::json frame = client.read_json();
        nlohmann::json expected{{"type", "event"},
                                {"event", event},
                                {"id", event_ids[k]},
                                {"data", {{"seq", first_seq + static_cast<int>(k)}}}};
        if (channel) {
            expected["channel"] = *channel;
        }
        if (frame != expected) {
            ADD_FAILURE() << "frame #" << k << ": expected " << expected.dump() << ", got "
                          << frame.dump();
            return;
        }
    }
}

}  // namespace wsgate::test::e2e
