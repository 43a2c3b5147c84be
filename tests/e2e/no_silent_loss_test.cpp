// No silent loss, proven by exact accounting (docs/history.md): three instances behind HAProxy
// on one real Redis, subscribers of a channel with history connected through HAProxy, and a
// publisher that publishes continuously while a fault happens, retrying every unanswered
// publish with its idempotency key. Afterwards, for every subscriber, every event the
// publisher was told was accepted (202) was delivered exactly once, or lies in a range the
// subscriber was told it lost (a `gap` frame, a `recovered:false` ack). Anything else is a
// silent loss, a duplicate or a reordering, and fails the test. The same holds for the events
// to one user (history.user_size): the subscribers are then that user's connections, which
// recover at connect (?recover_epoch=&recover_offset=) instead of by subscribing.
//
// The run is short here (CI); scripts/fault-soak.sh runs it long and large through
// WSGATE_FAULT_CLIENTS (default 30), WSGATE_FAULT_RATE (events/s, default 200) and
// WSGATE_FAULT_SECONDS (publishing before and after the fault, default 1.5).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

const std::string rules =
    R"([{"pattern":"*","subscribe":"anyone","history":{"size":100000,"ttl_ms":600000}}])";

/// The stream under test: the channel room:1, or the user alice's stream.
struct stream_target {
    bool user = false;

    std::string topic() const { return user ? "user:alice" : "ch:room:1"; }
    /// Connects `ws` through `port` and joins the stream, recovering from `from` when set: a
    /// user's connection at connect (the welcome answers), a channel by subscribing (the ack).
    nlohmann::json join(ws_client& ws, std::uint16_t port,
                        const std::optional<std::pair<std::string, std::uint64_t>>& from) const {
        if (user) {
            std::string path = "/ws?user=alice";
            if (from)
                path += "&recover_epoch=" + from->first +
                        "&recover_offset=" + std::to_string(from->second);
            return ws.connect(port, path);
        }
        ws.connect(port, "/ws");
        nlohmann::json req{{"type", "subscribe"}, {"channel", "room:1"}};
        if (from) req["recover"] = {{"epoch", from->first}, {"offset", from->second}};
        return ws.request(req);
    }
    /// Whether an event or gap frame is about this stream.
    bool is_mine(const nlohmann::json& f) const {
        return user ? f.value("user", "") == "alice" || (f.value("type", "") == "event" &&
                                                          !f.contains("channel"))
                    : f.value("channel", "") == "room:1";
    }
    nlohmann::json publication(long long seq) const {
        nlohmann::json body{{"event", "n"},
                            {"data", {{"seq", seq}}},
                            {"idempotency_key", "k" + std::to_string(seq)}};
        body[user ? "user" : "channel"] = user ? "alice" : "room:1";
        return body;
    }
};

double env_number(const char* name, double fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::atof(value) : fallback;
}

struct scale {
    int clients = static_cast<int>(env_number("WSGATE_FAULT_CLIENTS", 30));
    double rate = env_number("WSGATE_FAULT_RATE", 200);
    std::chrono::milliseconds calm{
        static_cast<long long>(env_number("WSGATE_FAULT_SECONDS", 1.5) * 1000)};
};

struct position {
    std::string epoch;
    std::uint64_t offset = 0;
};

position position_of(const json& j) {
    return {j.at("epoch").get<std::string>(), j.at("offset").get<std::uint64_t>()};
}

std::string show(const position& p) { return p.epoch + ":" + std::to_string(p.offset); }

/// What one subscriber saw, in order.
struct record {
    struct delivery {
        position at;
        long long seq = -1;
    };
    /// Events after `from` up to and including `to` were reported lost. `to` unknown: up to the
    /// next delivery (index `next`); `to` in epoch "": the rest of `from`'s epoch.
    struct lost_range {
        position from;
        std::optional<position> to;
        std::size_t next = 0;
    };
    position start;  ///< the first subscribe's ack: the subscriber's stream begins after it
    std::vector<delivery> got;
    std::vector<lost_range> told;
    int gaps = 0, not_recovered = 0, recovered = 0, reconnects = 0;
    std::vector<std::string> odd;  ///< frames that are neither events, gaps nor acks
};

/// One subscriber on its own thread: reads until stopped; when its connection ends (or it is
/// told to drop it silently) it connects again through HAProxy and subscribes with `recover`.
class subscriber {
  public:
    subscriber(std::uint16_t lb_port, const stream_target& target)
        : lb_port_(lb_port), target_(target) {
        join();  // the first subscribe, before the thread starts
        rec_.start = last_;
        thread_ = std::thread([this] { run(); });
    }
    ~subscriber() { stop(); }

    void drop_silently() { drop_ = true; }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    /// The last position it knows (delivered, or told lost).
    position last() {
        std::lock_guard lock(mutex_);
        return last_;
    }
    const record& result() const { return rec_; }
    std::string instance() {
        std::lock_guard lock(mutex_);
        return instance_;
    }

  private:
    // Connects and subscribes, recovering from last_ when it has a position.
    void join() {
        const bool again = ws_ != nullptr;
        const auto deadline = clock_type::now() + std::chrono::seconds(20);
        for (;;) {
            try {
                auto ws = std::make_unique<ws_client>();
                std::optional<std::pair<std::string, std::uint64_t>> from;
                if (again) from.emplace(last_.epoch, last_.offset);
                const json ack = target_.join(*ws, lb_port_, from);
                if (ack.contains("offset")) {  // the ack or welcome naming the position
                    on_ack(ack, again);
                    std::lock_guard lock(mutex_);
                    instance_ = instance_of(ws->connection_id());
                    if (ws_) abandoned_.push_back(std::move(ws_));
                    ws_ = std::move(ws);
                    return;
                }
                rec_.odd.push_back("joining answered " + ack.dump());
            } catch (const std::exception&) {
                // The instance HAProxy picked is gone or going: try again.
            }
            if (clock_type::now() > deadline) throw std::runtime_error("could not rejoin");
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    void on_ack(const json& ack, bool again) {
        const position top = position_of(ack);
        std::lock_guard lock(mutex_);
        if (!again) {
            last_ = top;
            return;
        }
        ++rec_.reconnects;
        if (ack.at("recovered").get<bool>()) {
            ++rec_.recovered;  // the missed events follow
            return;
        }
        ++rec_.not_recovered;
        rec_.told.push_back({last_, top, rec_.got.size()});
        last_ = top;
    }

    void run() {
        while (!stopping_) {
            if (drop_.exchange(false)) {
                // The old connection stays open and unread, as when a network vanishes.
                join_or_give_up();
                continue;
            }
            std::optional<json> frame;
            try {
                frame = ws_->poll_json_for(std::chrono::milliseconds(50));
            } catch (const std::exception&) {
                join_or_give_up();
                continue;
            }
            if (frame) on_frame(*frame);
        }
    }

    void join_or_give_up() {
        try {
            join();
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            rec_.odd.push_back(e.what());
            stopping_ = true;
        }
    }

    void on_frame(const json& f) {
        const std::string type = f.value("type", "");
        std::lock_guard lock(mutex_);
        if (type == "event" && target_.is_mine(f)) {
            const position at = position_of(f);
            rec_.got.push_back({at, f.at("data").at("seq").get<long long>()});
            last_ = at;
        } else if (type == "gap" && target_.is_mine(f)) {
            ++rec_.gaps;
            const position from = f.contains("after") ? position_of(f["after"]) : last_;
            std::optional<position> to;
            if (f.contains("offset")) to = position_of(f);
            rec_.told.push_back({from, to, rec_.got.size()});
            if (to) last_ = *to;
        } else {
            rec_.odd.push_back(f.dump());
        }
    }

    std::uint16_t lb_port_;
    stream_target target_;
    std::unique_ptr<ws_client> ws_;
    std::vector<std::unique_ptr<ws_client>> abandoned_;
    std::mutex mutex_;
    position last_;
    std::string instance_;
    record rec_;
    std::atomic<bool> drop_{false};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// Publishes {"seq": n} to the stream at a steady rate from `workers` threads (a publish waits
/// for its answer: one thread alone would not reach the soak's rate on a loaded machine), each
/// through the three instances in turn; a publish not answered 202 is retried (on the next
/// instance) with the same idempotency key until it is. Records where each accepted event went.
class publisher {
  public:
    static constexpr int workers = 4;

    publisher(cluster& c, double rate, const stream_target& target)
        : c_(c), rate_(rate), target_(target) {
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { run(i); });
    }
    ~publisher() { stop(); }
    void stop() {
        stopping_ = true;
        for (auto& t : threads_) {
            if (t.joinable()) t.join();
        }
    }
    /// Valid after stop(): the positions of the accepted events, in the order answered.
    const std::vector<position>& accepted() const { return accepted_; }
    long long retries() const { return retries_.load(); }

  private:
    void run(int worker) {
        const auto interval = std::chrono::duration<double>(workers / rate_);
        // Spread over the interval, so that the stream sees a steady rate.
        auto next = clock_type::now() +
                    std::chrono::duration_cast<clock_type::duration>(interval * worker / workers);
        std::this_thread::sleep_until(next);
        std::size_t instance = static_cast<std::size_t>(worker);
        while (!stopping_) {
            const json body = target_.publication(next_seq_++);
            bool ok = false;
            while (!ok && !stopping_) {
                try {
                    const auto res = http_client(c_.gw(instance % 3).api_port(),
                                                 std::chrono::seconds(3))
                                         .publish(body);
                    if (res.status == 202) {
                        std::lock_guard lock(mutex_);
                        accepted_.push_back(position_of(res.json));
                        ok = true;
                    }
                } catch (const std::exception&) {
                    // Not answered: the same key goes again.
                }
                ++instance;
                if (!ok) {
                    ++retries_;
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                }
            }
            next += std::chrono::duration_cast<clock_type::duration>(interval);
            std::this_thread::sleep_until(next);
        }
    }

    cluster& c_;
    double rate_;
    stream_target target_;
    std::mutex mutex_;
    std::vector<position> accepted_;
    std::atomic<long long> next_seq_{0};
    std::atomic<long long> retries_{0};
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> threads_;
};

/// Positions in one order across epochs: epochs rank in the order the publisher saw them.
class stream_order {
  public:
    explicit stream_order(const std::vector<position>& accepted) {
        for (const auto& p : accepted) rank(p.epoch);
    }
    using key = std::pair<long long, std::uint64_t>;
    key of(const position& p) {
        if (p.epoch.empty()) return {-1, p.offset};
        return {rank(p.epoch), p.offset};
    }
    long long rank(const std::string& epoch) {
        return ranks_.try_emplace(epoch, static_cast<long long>(ranks_.size())).first->second;
    }

  private:
    std::map<std::string, long long> ranks_;
};

struct account {
    long long delivered = 0, reported = 0, silent = 0, duplicates = 0, disorder = 0,
              unaccepted = 0, seq_repeats = 0;
};

/// Checks one subscriber's record against what was accepted.
account audit(const record& r, const std::vector<position>& accepted, stream_order& order,
              const std::string& who) {
    account a;
    std::map<stream_order::key, int> seen;
    std::map<long long, int> seqs;
    std::optional<stream_order::key> previous;
    for (const auto& d : r.got) {
        const auto k = order.of(d.at);
        if (++seen[k] > 1) ++a.duplicates;
        if (++seqs[d.seq] > 1) ++a.seq_repeats;
        if (previous && k <= *previous) ++a.disorder;
        previous = k;
    }
    struct interval {
        stream_order::key from, to;  // (from, to]
    };
    std::vector<interval> told;
    for (const auto& t : r.told) {
        const auto from = order.of(t.from);
        stream_order::key to{std::numeric_limits<long long>::max(), 0};
        if (t.to && !t.to->epoch.empty()) {
            to = order.of(*t.to);
        } else if (t.to) {
            to = {from.first, std::numeric_limits<std::uint64_t>::max()};
        } else if (t.next < r.got.size()) {
            to = order.of(r.got[t.next].at);
            to.second -= 1;  // up to the event before the next delivered one
        }
        told.push_back({from, to});
    }
    const auto start = order.of(r.start);
    std::map<stream_order::key, bool> is_accepted;
    for (const auto& p : accepted) {
        const auto k = order.of(p);
        is_accepted[k] = true;
        if (k <= start) continue;
        if (seen.count(k) != 0) {
            ++a.delivered;
            continue;
        }
        const bool covered = std::any_of(told.begin(), told.end(), [&](const interval& i) {
            return i.from < k && k <= i.to;
        });
        if (covered) {
            ++a.reported;
        } else if (++a.silent <= 5) {
            ADD_FAILURE() << who << ": event at " << show(p) << " silently lost";
        }
    }
    for (const auto& [k, n] : seen) {
        if (is_accepted.count(k) == 0) ++a.unaccepted;
    }
    return a;
}

/// Runs one scenario: subscribers join, the publisher publishes for `calm`, `fault` happens
/// (while publishing goes on), publishing goes on for `calm`, then every subscriber is given
/// time to catch up and the account is checked. Returns the sum over all subscribers.
account run_scenario(const std::string& name, cluster& c,
                     const std::function<void(std::vector<std::unique_ptr<subscriber>>&)>& fault,
                     bool lost_epoch_expected = false, stream_target target = {}) {
    const scale s;
    std::vector<std::unique_ptr<subscriber>> subs;
    for (int i = 0; i < s.clients; ++i)
        subs.push_back(std::make_unique<subscriber>(c.lb->port(), target));
    c.wait_numsub(target.topic(), 3);

    auto pub = std::make_unique<publisher>(c, s.rate, target);
    std::this_thread::sleep_for(s.calm);
    const auto fault_at = clock_type::now();
    fault(subs);
    const auto fault_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              clock_type::now() - fault_at)
                              .count();
    std::this_thread::sleep_for(s.calm);
    pub->stop();
    const auto& accepted = pub->accepted();
    EXPECT_GT(accepted.size(), 0u);

    // Everybody catches up with the last accepted event (or is told it will not).
    stream_order order(accepted);
    if (!accepted.empty()) {
        // The workers' answers interleave: the newest is the largest position, not the last.
        stream_order::key top = order.of(accepted.front());
        for (const auto& p : accepted) top = std::max(top, order.of(p));
        wait_until(
            [&] {
                for (auto& sub : subs) {
                    if (order.of(sub->last()) < top) return false;
                }
                return true;
            },
            std::chrono::seconds(15), std::chrono::milliseconds(20));
    }
    for (auto& sub : subs) sub->stop();

    account total;
    int gaps = 0, not_recovered = 0, recovered = 0, reconnects = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
        const record& r = subs[i]->result();
        const std::string who = "subscriber " + std::to_string(i);
        for (const auto& odd : r.odd) ADD_FAILURE() << who << ": unexpected " << odd;
        const account a = audit(r, accepted, order, who);
        EXPECT_EQ(a.duplicates, 0) << who;
        EXPECT_EQ(a.disorder, 0) << who;
        if (!lost_epoch_expected) {
            EXPECT_EQ(a.seq_repeats, 0) << who;
        }
        total.delivered += a.delivered;
        total.reported += a.reported;
        total.silent += a.silent;
        total.duplicates += a.duplicates;
        total.disorder += a.disorder;
        total.unaccepted += a.unaccepted;
        total.seq_repeats += a.seq_repeats;
        gaps += r.gaps;
        not_recovered += r.not_recovered;
        recovered += r.recovered;
        reconnects += r.reconnects;
    }
    EXPECT_EQ(total.silent, 0);
    double repaired = 0, replayed = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (c.gw(i).running()) {
            repaired += std::max(0.0, c.metric(i, "wsgate_stream_repaired_events_total"));
            replayed += std::max(0.0, c.metric(i, "wsgate_history_replayed_total"));
        }
    }
    std::cout << "[ figures  ] " << name << ": fault took " << fault_ms << " ms; "
              << accepted.size() << " events accepted (" << pub->retries()
              << " publishes retried) to " << subs.size() << " subscribers: "
              << total.delivered << " delivered, " << total.reported << " reported lost ("
              << gaps << " gap frames, " << not_recovered << " recovered:false), "
              << total.silent << " silently lost, " << total.duplicates << " duplicates, "
              << total.disorder << " out of order; " << reconnects << " reconnects ("
              << recovered << " recovered, " << replayed << " events replayed); " << repaired
              << " events repaired from history by the instances; " << total.unaccepted
              << " deliveries of unacknowledged publishes, " << total.seq_repeats
              << " repeated seq\n";
    return total;
}

std::vector<std::string> cluster_args() {
    return {"--channels", rules, "--history.user_size", "100000"};
}

TEST(e2e_no_silent_loss, killed_pubsub_connections_are_repaired_from_history) {
    cluster c(true, cluster_args());
    const account a = run_scenario("CLIENT KILL TYPE pubsub", c, [&](auto&) {
        EXPECT_EQ(c.redis.command({"CLIENT", "KILL", "TYPE", "pubsub"}), "3");
    });
    EXPECT_EQ(a.reported, 0) << "the instances read what they missed back from Redis";
}

TEST(e2e_no_silent_loss, frozen_redis_is_repaired_from_history) {
    cluster c(true, cluster_args());
    const account a = run_scenario("Redis frozen (SIGSTOP) 3 s", c, [&](auto&) {
        c.redis.pause();
        std::this_thread::sleep_for(std::chrono::seconds(3));
        c.redis.resume();
    });
    EXPECT_EQ(a.reported, 0);
}

TEST(e2e_no_silent_loss, redis_restarted_with_persistence_is_repaired_from_history) {
    cluster c(true, cluster_args());
    c.redis.persist();
    const account a = run_scenario("Redis restarted (append-only file) after 2 s", c, [&](auto&) {
        c.redis.stop();
        std::this_thread::sleep_for(std::chrono::seconds(2));
        c.redis.start();
    });
    EXPECT_EQ(a.reported, 0);
}

TEST(e2e_no_silent_loss, redis_restarted_without_persistence_is_reported) {
    cluster c(true, cluster_args());
    run_scenario(
        "Redis restarted (no persistence) after 2 s", c,
        [&](auto&) {
            c.redis.stop();
            std::this_thread::sleep_for(std::chrono::seconds(2));
            c.redis.start();
        },
        true);
}

TEST(e2e_no_silent_loss, clients_of_a_killed_instance_reconnect_and_recover) {
    cluster c(true, cluster_args());
    const account a = run_scenario("kill -9 of instance b", c, [&](auto&) {
        c.gw(1).send_signal(SIGKILL);
        EXPECT_EQ(c.gw(1).wait_exit(std::chrono::seconds(5)), 128 + SIGKILL);
    });
    EXPECT_EQ(a.reported, 0) << "every reconnecting client recovers";
}

TEST(e2e_no_silent_loss, clients_of_a_drained_instance_reconnect_and_recover) {
    cluster c(true, cluster_args());
    const account a = run_scenario("SIGTERM drain of instance c", c, [&](auto&) {
        c.gw(2).send_signal(SIGTERM);
        EXPECT_EQ(c.gw(2).wait_exit(std::chrono::seconds(15)), 0);
    });
    EXPECT_EQ(a.reported, 0);
}

TEST(e2e_no_silent_loss, clients_that_drop_their_connection_silently_come_back_and_recover) {
    cluster c(true, cluster_args());
    const account a = run_scenario("a third of the clients vanish and come back", c,
                                   [&](std::vector<std::unique_ptr<subscriber>>& subs) {
                                       for (std::size_t i = 0; i < subs.size(); i += 3)
                                           subs[i]->drop_silently();
                                   });
    EXPECT_EQ(a.reported, 0);
}

// A user's stream heals like a channel's: its events are repaired from history after the
// instances' pubsub links are killed, and a user whose instance dies recovers them.
TEST(e2e_no_silent_loss, a_users_stream_is_repaired_after_killed_pubsub_connections) {
    cluster c(true, cluster_args());
    const account a = run_scenario(
        "CLIENT KILL TYPE pubsub, events to a user", c,
        [&](auto&) { EXPECT_EQ(c.redis.command({"CLIENT", "KILL", "TYPE", "pubsub"}), "3"); },
        false, stream_target{true});
    EXPECT_EQ(a.reported, 0);
}

TEST(e2e_no_silent_loss, a_user_whose_instance_is_killed_reconnects_and_recovers) {
    cluster c(true, cluster_args());
    const account a = run_scenario(
        "kill -9 of instance b, events to a user", c,
        [&](auto&) {
            c.gw(1).send_signal(SIGKILL);
            EXPECT_EQ(c.gw(1).wait_exit(std::chrono::seconds(5)), 128 + SIGKILL);
        },
        false, stream_target{true});
    EXPECT_EQ(a.reported, 0);
}

}  // namespace
}  // namespace wsgate::test::e2e
