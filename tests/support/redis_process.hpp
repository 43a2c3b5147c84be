#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

#include "temp_dir.hpp"

namespace wsgate::test {

/// A real `redis-server` (from PATH, or $WSGATE_REDIS_SERVER) on 127.0.0.1 for the duration of a
/// test: no persistence (`--save '' --appendonly no`), its log in a fresh temp directory.
///
/// The constructor picks a free port, starts the server and waits up to 10 s until it answers
/// PING (throws std::runtime_error, with the log, otherwise). stop() and start() keep the port,
/// so that gateways configured with url() find the server again. The destructor kills the
/// server (SIGKILL) and prints its log when the current test has failed.
class redis_process {
  public:
    /// `also_ipv6`: listen on [::1] too (same port), for url_ipv6().
    explicit redis_process(bool also_ipv6 = false);
    ~redis_process();
    redis_process(const redis_process&) = delete;
    redis_process& operator=(const redis_process&) = delete;

    std::uint16_t port() const { return port_; }
    /// `redis://127.0.0.1:<port>`, for `--redis.url`.
    std::string url() const;
    /// `redis://[::1]:<port>` (only with `also_ipv6`).
    std::string url_ipv6() const;
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }
    bool paused() const { return paused_; }

    /// From now on the server keeps an append-only file fsynced at every write
    /// (`appendfsync always`), so that stop() and start() keep its data: applied to the running
    /// server with CONFIG SET, and to every later start().
    void persist();

    /// Starts the server again on the same port and waits until it answers PING.
    void start();
    /// Stops the server (SIGTERM: with persistence off that is a SHUTDOWN NOSAVE) and waits for
    /// it to exit (SIGKILL after 5 s). Resumes a paused server first.
    void stop();
    /// Freezes the server with SIGSTOP: connections stay open, nothing is answered.
    void pause();
    /// Thaws a paused server with SIGCONT.
    void resume();

    /// True when the server answers `PING` with `+PONG` over a fresh TCP connection within
    /// `timeout`.
    bool ping(std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;

    /// Runs `redis-cli -h 127.0.0.1 -p <port> <args...>` (at most 5 s) and returns what it
    /// printed, without the trailing newline (redis-cli's raw output: one line per element).
    /// Throws std::runtime_error when redis-cli fails or times out.
    std::string command(const std::vector<std::string>& args) const;
    /// `PUBSUB NUMSUB <channel>`: how many connections are subscribed to that Redis channel.
    long long numsub(const std::string& redis_channel) const;
    /// `PUBSUB CHANNELS <pattern>`, sorted.
    std::vector<std::string> channels(const std::string& pattern = "*") const;

    /// Everything the server logged so far.
    std::string log_text() const;

  private:
    void spawn_server();
    /// Waits until PING is answered; throws (with the log) when the process exits or 10 s pass.
    void wait_until_answering();

    temp_dir dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    bool paused_ = false;
    bool also_ipv6_ = false;
    bool persistent_ = false;
    mutable unsigned commands_run_ = 0;
};

}  // namespace wsgate::test
