#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wsgate::test {

/// Helpers shared by the processes the end-to-end tests start (redis-server, haproxy, redis-cli).

/// Starts `argv[0]` (looked up in PATH when it has no slash) with `argv`; stdin from /dev/null,
/// stdout and stderr appended to `log_path`, no inherited descriptors beyond 0-2, the current
/// environment plus `extra_env` (`NAME=value`). Throws std::system_error when it cannot start.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::vector<std::string>& extra_env = {});

/// Polls waitpid(pid) until it exits or `timeout` passes: its exit status (128 + signal when
/// killed by one), -1 when waitpid fails, nullopt on timeout.
std::optional<int> reap_child(pid_t pid, std::chrono::milliseconds timeout);

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed).
std::uint16_t free_loopback_port();

/// True when a TCP connection to 127.0.0.1:port succeeds (it is closed at once).
bool loopback_port_accepts(std::uint16_t port);

/// The last `max_chars` characters of `text` (for failure messages).
std::string tail_of(const std::string& text, std::size_t max_chars);

}  // namespace wsgate::test
