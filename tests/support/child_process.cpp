#include "child_process.hpp"

#include <arpa/inet.h>
#include <algorithm>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <exception>
#include <fcntl.h>
#include <iostream>
#include <netinet/in.h>
#include <spawn.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace wsgate::test {
namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (auto& s : strings) {
        pointers.push_back(s.data());
    }
    pointers.push_back(nullptr);
    return pointers;
}

int decode(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

}  // namespace

pid_t spawn_child(const std::vector<std::string>& argv, const spawn_options& options) {
    std::vector<std::string> argv_strings = argv;
    std::vector<std::string> env_strings;
    const std::string& drop = options.drop_env_prefix;
    // An extra entry replaces an inherited variable of the same name (getenv() would find the
    // inherited one first).
    const auto overridden = [&](std::string_view entry) {
        const auto name = entry.substr(0, entry.find('=') + 1);
        return std::any_of(options.extra_env.begin(), options.extra_env.end(),
                           [&](const std::string& extra) { return extra.rfind(name, 0) == 0; });
    };
    for (char** entry = environ; *entry != nullptr; ++entry) {
        if ((drop.empty() || std::strncmp(*entry, drop.c_str(), drop.size()) != 0) &&
            !overridden(*entry)) {
            env_strings.emplace_back(*entry);
        }
    }
    env_strings.insert(env_strings.end(), options.extra_env.begin(), options.extra_env.end());
    auto args = c_strings(argv_strings);
    auto envp = c_strings(env_strings);

    constexpr int output_flags = O_WRONLY | O_CREAT | O_APPEND;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, options.stdout_path.c_str(), output_flags, 0644);
    if (options.stderr_path.empty()) {
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    } else {
        posix_spawn_file_actions_addopen(&actions, 2, options.stderr_path.c_str(), output_flags,
                                         0644);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // no test sockets in the child

    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::system_error(rc, std::generic_category(), "posix_spawnp " + argv.at(0));
    }
    return pid;
}

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::vector<std::string>& extra_env) {
    spawn_options options;
    options.stdout_path = log_path;
    options.extra_env = extra_env;
    return spawn_child(argv, options);
}

std::optional<int> reap_child(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t rc = ::waitpid(pid, &status, WNOHANG);
        if (rc == pid) {
            return decode(status);
        }
        if (rc < 0) {
            return -1;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    reap_child(pid, std::chrono::seconds(5));
}

std::optional<int> reap_or_kill(pid_t pid, std::chrono::milliseconds timeout) {
    const auto status = reap_child(pid, timeout);
    if (!status) {
        kill_and_reap(pid);
    }
    return status;
}

startup_wait wait_until_ready(pid_t pid, std::chrono::milliseconds timeout,
                              const std::function<bool()>& ready) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    startup_wait result;
    for (;;) {
        if (ready()) {
            result.ready = true;
            return result;
        }
        result.exit_status = reap_child(pid, std::chrono::milliseconds(0));
        if (result.exit_status || std::chrono::steady_clock::now() >= deadline) {
            return result;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

startup_wait wait_for_log_match(pid_t pid, std::chrono::milliseconds timeout,
                                const std::function<std::string()>& read_log,
                                const std::regex& pattern, std::string& log, std::smatch& match) {
    return wait_until_ready(pid, timeout, [&] {
        log = read_log();
        return std::regex_search(log, match, pattern);
    });
}

void print_log_on_failure(const std::string& name, const std::string& detail,
                          const std::function<std::string()>& read_log, std::size_t max_chars) {
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0) {
        std::cerr << "---- " << name << " log (" << detail << ") ----\n"
                  << tail_of(read_log(), max_chars) << "\n---- end of " << name << " log ----\n";
    }
}

std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "socket");
    }
    sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "bind 127.0.0.1:0");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool loopback_port_accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    const sockaddr_in addr = loopback(port);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::string tail_of(const std::string& text, std::size_t max_chars) {
    return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

}  // namespace wsgate::test
