#include "gateway_process.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <exception>
#include <fcntl.h>
#include <iostream>
#include <optional>
#include <regex>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <system_error>
#include <thread>

#ifndef WSGATE_BINARY
#error "WSGATE_BINARY must be defined as the path of the wsgate executable"
#endif

extern char** environ;

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

constexpr auto startup_timeout = 10s;
constexpr auto poll_interval = 10ms;

bool has_flag(const std::vector<std::string>& args, const std::string& key) {
    const std::string flag = "--" + key;
    for (const auto& arg : args) {
        if (arg == flag || arg.rfind(flag + "=", 0) == 0) {
            return true;
        }
    }
    return false;
}

/// The current environment without WSGATE_ variables (so that the developer's shell cannot
/// change what a test runs), plus `extra`.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        if (std::strncmp(*entry, "WSGATE_", 7) != 0) {
            env.emplace_back(*entry);
        }
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (auto& s : strings) {
        pointers.push_back(s.data());
    }
    pointers.push_back(nullptr);
    return pointers;
}

/// Starts WSGATE_BINARY with `args`; stdin from /dev/null, stdout to `out_path`, stderr to
/// `err_path` (or to the same file as stdout when `err_path` is empty).
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
            const std::string& out_path, const std::string& err_path) {
    std::vector<std::string> argv_strings{WSGATE_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    auto env_strings = child_environment(extra_env);
    auto argv = c_strings(argv_strings);
    auto envp = c_strings(env_strings);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (err_path.empty()) {
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    } else {
        posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // no test sockets in the child

    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::system_error(rc, std::generic_category(), "posix_spawn " WSGATE_BINARY);
    }
    return pid;
}

int decode_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

/// Polls waitpid until `pid` exits or `timeout` passes; the decoded status, or nullopt.
std::optional<int> reap(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t rc = ::waitpid(pid, &status, WNOHANG);
        if (rc == pid) {
            return decode_status(status);
        }
        if (rc < 0) {
            return -1;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

std::uint16_t port_of(const std::string& host_port) {
    const auto colon = host_port.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1)));
}

std::string tail(const std::string& text, std::size_t max_chars) {
    return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

}  // namespace

gateway_process::gateway_process(std::vector<std::string> extra_args) {
    std::vector<std::string> args;
    if (!has_flag(extra_args, "server.listen")) {
        args.insert(args.end(), {"--server.listen", "127.0.0.1:0"});
    }
    if (!has_flag(extra_args, "log.level")) {
        args.insert(args.end(), {"--log.level", "info"});
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, {}, (dir_.path() / "wsgate.log").string(), "");
    try {
        wait_for_listening_line();
    } catch (...) {
        ::kill(pid_, SIGKILL);
        reap(pid_, 5s);
        exited_ = true;
        throw;
    }
}

gateway_process::~gateway_process() {
    if (!exited_) {
        ::kill(pid_, SIGKILL);
        reap(pid_, 5s);
    }
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0) {
        std::cerr << "---- wsgate log (" << WSGATE_BINARY << ") ----\n"
                  << tail(log_text(), 8000) << "\n---- end of wsgate log ----\n";
    }
}

void gateway_process::wait_for_listening_line() {
    static const std::regex line(R"(listening public=(\S+) api=(\S+))");
    const auto deadline = std::chrono::steady_clock::now() + startup_timeout;
    for (;;) {
        const std::string log = log_text();
        std::smatch match;
        if (std::regex_search(log, match, line)) {
            public_port_ = port_of(match[1].str());
            api_port_ = port_of(match[2].str());
            return;
        }
        if (!running()) {
            throw std::runtime_error("wsgate exited before listening; log:\n" + log);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("no 'listening public=... api=...' line within 10 s; log:\n" +
                                     log);
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

void gateway_process::send_signal(int signal_number) const {
    if (!exited_ && ::kill(pid_, signal_number) != 0) {
        throw std::system_error(errno, std::generic_category(), "kill");
    }
}

int gateway_process::wait_exit(std::chrono::milliseconds timeout) {
    if (exited_) {
        return exit_status_;
    }
    const auto status = reap(pid_, timeout);
    if (!status) {
        ADD_FAILURE() << "wsgate did not exit within " << timeout.count() << " ms";
        return -1;
    }
    exited_ = true;
    exit_status_ = *status;
    return exit_status_;
}

bool gateway_process::running() {
    if (exited_) {
        return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_status_ = decode_status(status);
        return false;
    }
    return true;
}

std::string gateway_process::log_text() const { return dir_.read_file("wsgate.log"); }

run_result gateway_process::run_to_completion(const std::vector<std::string>& args,
                                              const std::vector<std::string>& extra_env,
                                              std::chrono::milliseconds timeout) {
    temp_dir dir;
    const pid_t pid =
        spawn(args, extra_env, (dir.path() / "stdout").string(), (dir.path() / "stderr").string());
    auto status = reap(pid, timeout);
    if (!status) {
        ::kill(pid, SIGKILL);
        reap(pid, 5s);
        ADD_FAILURE() << "wsgate did not exit within " << timeout.count() << " ms";
        status = -1;
    }
    return run_result{*status, dir.read_file("stdout"), dir.read_file("stderr")};
}

}  // namespace wsgate::test
