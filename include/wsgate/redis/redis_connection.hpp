#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <wsgate/redis/redis_address.hpp>
#include <wsgate/support/deadline_resolver.hpp>

struct redisAsyncContext;
struct redisReply;

namespace wsgate {

/// One hiredis asynchronous connection, driven by the io_context: hiredis's read/write hooks
/// become `stream_descriptor::async_wait`s on its socket. No threads, no polling.
///
/// hiredis 0.14 has no timeouts of its own, so this class adds two: connecting (resolving the
/// host name, connecting and logging in) must finish within `timeout`, and while a reply is
/// awaited Redis must not stay silent for `timeout` once everything asked is written (a
/// watchdog; a Redis stopped with SIGSTOP or a half-open link is caught this way, while the long
/// run of replies to a SUBSCRIBE of many channels is not). Either failure drops the connection; the owner decides when to connect
/// again. hiredis would resolve a host name itself, with a blocking getaddrinfo() on the event
/// loop: it is resolved here instead, off the loop (deadline_resolver), and hiredis is given
/// the numeric address.
class redis_connection : public std::enable_shared_from_this<redis_connection> {
public:
    struct handlers {
        std::function<void()> on_up;  ///< connected and logged in
        /// The connection is gone (never called from inside a member function call).
        std::function<void(const std::string& why)> on_down;
        /// A Pub/Sub message (subscriber connections).
        std::function<void(std::string_view channel, std::string_view payload)> on_message;
        /// Redis confirmed a SUBSCRIBE (true) or an UNSUBSCRIBE (false) of `channel`.
        std::function<void(std::string_view channel, bool subscribed)> on_subscription;
    };
    /// The reply, or nullptr when the connection was lost before one came.
    using reply_handler = std::function<void(const redisReply* reply)>;

    redis_connection(boost::asio::any_io_executor ex, redis_address address,
                     std::chrono::milliseconds timeout, std::string name, handlers h);
    ~redis_connection();
    redis_connection(const redis_connection&) = delete;
    redis_connection& operator=(const redis_connection&) = delete;

    /// Starts connecting; on_up or on_down follows.
    void connect();
    /// Drops the connection (if any); on_down follows.
    void disconnect(const std::string& why);
    bool up() const { return state_ == state::up; }

    /// Sends one command; false (and no callback) when not up.
    bool command(const std::vector<std::string_view>& args, reply_handler on_reply);
    /// SUBSCRIBE / UNSUBSCRIBE `channels` (one command each); replies go to on_subscription.
    bool subscribe(const std::vector<std::string>& channels, bool subscribe);

private:
    enum class state { down, connecting, up };
    struct pending_command;

    static void on_connect_c(const redisAsyncContext* ctx, int status);
    static void on_reply_c(redisAsyncContext* ctx, void* reply, void* privdata);
    static void on_pubsub_c(redisAsyncContext* ctx, void* reply, void* privdata);
    static void add_read_c(void* self);
    static void del_read_c(void* self);
    static void add_write_c(void* self);
    static void del_write_c(void* self);
    static void cleanup_c(void* self);

    static redis_connection* owner_of(void* hook_data);
    void arm(bool write);
    void on_readable();
    void on_writable();
    void open(const std::string& numeric_host);
    void on_connected(int status);
    void become_up();
    void forget_context();
    void lost(const std::string& why);
    bool send(const std::vector<std::string_view>& args, void (*fn)(redisAsyncContext*, void*,
                                                                  void*),
              void* privdata, std::size_t replies);
    void reply_arrived();
    bool input_waiting();
    void watch();

    boost::asio::any_io_executor ex_;
    redis_address address_;
    std::chrono::milliseconds timeout_;
    std::string name_;
    handlers handlers_;

    deadline_resolver resolver_;
    std::uint64_t attempt_ = 0;  // tells a lookup of an earlier connect() from the current one
    redisAsyncContext* ctx_ = nullptr;
    std::optional<boost::asio::posix::stream_descriptor> socket_;
    std::uint64_t generation_ = 0;  // tells a stale wait from one on the current socket
    bool want_read_ = false, read_armed_ = false;
    bool want_write_ = false, write_armed_ = false;
    state state_ = state::down;
    // When each reply still awaited was asked for (replies come in order).
    std::deque<std::chrono::steady_clock::time_point> awaited_;
    std::chrono::steady_clock::time_point last_progress_;  // last reply read or bytes written
    boost::asio::steady_timer watchdog_;
    std::chrono::steady_clock::time_point connect_deadline_;
};

}  // namespace wsgate
