#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wsgate::test {

/// Helpers shared by the processes the tests start (wsgate, wsgate-chatbot, redis-server,
/// haproxy, redis-cli).

/// Where a child's output goes and what its environment holds.
struct spawn_options {
    std::string stdout_path;  ///< stdout is appended to this file (created when missing)
    std::string stderr_path;  ///< stderr is appended to this file; empty: to stdout's file
    /// `NAME=value` entries added to the environment (each replaces an inherited NAME)
    std::vector<std::string> extra_env;
    /// Variables of the current environment whose name starts with this are not passed on
    /// (empty: all are).
    std::string drop_env_prefix;
};

/// Starts `argv[0]` (looked up in PATH when it has no slash) with `argv`; stdin from /dev/null,
/// stdout and stderr as `options` say, no inherited descriptors beyond 0-2, the current
/// environment (less `drop_env_prefix`) plus `extra_env`. Throws std::system_error when it
/// cannot start.
pid_t spawn_child(const std::vector<std::string>& argv, const spawn_options& options);

/// spawn_child() with stdout and stderr both appended to `log_path`.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::vector<std::string>& extra_env = {});

/// Polls waitpid(pid) until it exits or `timeout` passes: its exit status (128 + signal when
/// killed by one), -1 when waitpid fails, nullopt on timeout.
std::optional<int> reap_child(pid_t pid, std::chrono::milliseconds timeout);

/// Sends SIGKILL to `pid` and reaps it (waiting up to 5 s).
void kill_and_reap(pid_t pid);

/// reap_child(); on timeout the child is killed (kill_and_reap()) and nullopt returned.
std::optional<int> reap_or_kill(pid_t pid, std::chrono::milliseconds timeout);

/// How waiting for a starting child ended.
struct startup_wait {
    bool ready = false;              ///< `ready()` returned true
    std::optional<int> exit_status;  ///< set when the child exited first (it is reaped)
    // Neither: `timeout` passed.
};

/// Calls `ready()` every 10 ms until it returns true, the child `pid` exits, or `timeout`
/// passes (checked in that order after each call).
startup_wait wait_until_ready(pid_t pid, std::chrono::milliseconds timeout,
                              const std::function<bool()>& ready);

/// wait_until_ready() for `pattern` to appear in `read_log()`: `log` is left holding the last
/// text read and, when ready, `match` the match in it.
startup_wait wait_for_log_match(pid_t pid, std::chrono::milliseconds timeout,
                                const std::function<std::string()>& read_log,
                                const std::regex& pattern, std::string& log, std::smatch& match);

/// When the current test has failed (or an exception is unwinding), prints to stderr the last
/// `max_chars` characters of `read_log()` between `---- <name> log (<detail>) ----` and
/// `---- end of <name> log ----` lines; otherwise does not call `read_log`.
void print_log_on_failure(const std::string& name, const std::string& detail,
                          const std::function<std::string()>& read_log, std::size_t max_chars);

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed).
std::uint16_t free_loopback_port();

/// True when a TCP connection to 127.0.0.1:port succeeds (it is closed at once).
bool loopback_port_accepts(std::uint16_t port);

/// The last `max_chars` characters of `text` (for failure messages).
std::string tail_of(const std::string& text, std::size_t max_chars);

}  // namespace wsgate::test
