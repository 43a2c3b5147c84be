#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <wsgate/bus/bus.hpp>
#include <wsgate/config/config.hpp>
#include <wsgate/metrics/metrics.hpp>
#include <wsgate/redis/subscription_tracker.hpp>

struct redisReply;

namespace wsgate {

class redis_connection;

/// The bus shared by every instance: Redis Pub/Sub over two hiredis connections, one for
/// commands (PUBLISH, pipelined) and one in subscriber mode. Topics become Redis channels
/// under `redis.prefix`. Either connection, when lost, comes back with capped, jittered
/// backoff; the subscriber then subscribes again to everything still needed.
///
/// Readiness tells the truth: both connections up, every needed channel confirmed, and a
/// canary published on this instance's own topic came back within `redis.timeout_ms`.
class redis_bus final : public bus, public std::enable_shared_from_this<redis_bus> {
public:
    struct options {
        std::size_t json_max_depth = 64;  ///< limits.json_max_depth, for what Redis sends
        std::chrono::milliseconds idempotency_window{300000};  ///< history.idempotency_window_ms
    };
    redis_bus(boost::asio::any_io_executor ex, const config::redis_section& cfg,
              std::string instance_id, metrics& stats, options opts);
    ~redis_bus() override;

    /// Connects both connections and starts the canary.
    void start();

    /// With history or an idempotency key, through the publish script
    /// (redis/history_script.hpp) at the end of this turn of the loop, one call for each run
    /// of consecutive publications to one stream; else a plain PUBLISH (queued behind those,
    /// when some wait, to keep the order).
    void publish(const envelope& e, const publish_options& how, publish_callback done) override;
    void read_history(const std::string& topic, const std::string& epoch, std::uint64_t after,
                      std::size_t limit, read_callback done) override;
    void remove_history(const std::string& topic, std::function<void(bool)> done) override;
    void subscribe(const std::string& topic) override;
    void unsubscribe(const std::string& topic) override;
    bool ready() const override;
    /// Appends `body` to the Redis Stream `stream` (XADD, trimmed to about `max_length`
    /// entries); `done(true)` once Redis has it. For the queue transport of services.
    void append_to_stream(const std::string& stream, const std::string& body,
                          std::size_t max_length, std::function<void(bool)> done);
    /// The prefix of every Redis key and channel wsgate uses.
    const std::string& prefix() const { return cfg_.prefix; }
    void when_subscribed(const std::string& topic, std::function<void()> in_force) override;

private:
    struct link;  // one connection, its retry timer and failure count
    struct pending_publish;  // waiting for the end of this turn of the loop

    void flush_publishes();
    void send_plain(pending_publish& p);
    /// One call of the publish script for all[from, to): one topic, one policy.
    void send_run(std::vector<pending_publish>& all, std::size_t from, std::size_t to);

    void make_link(link& l, bool subscriber);
    void link_up(link& l);
    void link_down(link& l, const std::string& why);
    void schedule_flush();
    void flush_subscriptions();
    void on_message(std::string_view channel, std::string_view payload);
    void on_subscription(std::string_view channel, bool subscribed);
    void canary_tick();
    void send_canary();
    void update_gauges();
    /// EVALSHA of `s` with `args`, and EVAL when Redis does not know it (SCRIPT FLUSH, or a
    /// Redis restarted since the command link loaded it). False when not sent.
    using reply_handler = std::function<void(const redisReply*)>;
    bool run_script(std::string_view text, const std::string& sha1,
                    std::vector<std::string> args, reply_handler on_reply);
    void release_waiting(const std::string& topic);

    boost::asio::any_io_executor ex_;
    config::redis_section cfg_;
    options opts_;
    std::string instance_topic_;
    std::string canary_channel_;
    metrics& stats_;
    std::unique_ptr<link> commands_;
    std::unique_ptr<link> subscriber_;
    subscription_tracker topics_;
    /// Callers of when_subscribed() waiting for Redis to confirm their topic.
    std::unordered_map<std::string, std::vector<std::function<void()>>> waiting_;
    bool flush_posted_ = false;
    /// Publications of this turn of the loop, in order (flush_publishes()).
    std::vector<pending_publish> pending_publishes_;
    unsigned subscriber_links_ = 0;  ///< times the subscriber connection came up

    boost::asio::steady_timer canary_timer_;
    std::uint64_t canary_seq_ = 0;
    std::optional<std::chrono::steady_clock::time_point> canary_sent_;
    bool canary_ok_ = false;
    std::mt19937 random_;
};

}  // namespace wsgate
