#include <cstdlib>
#include "gateway_process.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <regex>
#include <signal.h>
#include <stdexcept>
#include <system_error>

#include "child_process.hpp"

#ifndef WSGATE_BINARY
#error "WSGATE_BINARY must be defined as the path of the wsgate executable"
#endif

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

constexpr auto startup_timeout = 10s;

bool has_flag(const std::vector<std::string>& args, const std::string& key) {
    const std::string flag = "--" + key;
    for (const auto& arg : args) {
        if (arg == flag || arg.rfind(flag + "=", 0) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

const char* gateway_binary() {
    // Another build (an older commit, say) can be run by the same tests: how a regression test
    // is shown to fail on the code before its fix.
    const char* other = std::getenv("WSGATE_TEST_BINARY");
    return other != nullptr && *other != '\0' ? other : WSGATE_BINARY;
}

namespace {

/// Starts the wsgate binary (gateway_binary()) with `args`; stdin from /dev/null, stdout to `out_path`, stderr to
/// `err_path` (or to the same file as stdout when `err_path` is empty). The environment is the
/// current one without WSGATE_ variables (so that the developer's shell cannot change what a
/// test runs), plus `extra_env`.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
            const std::string& out_path, const std::string& err_path) {
    std::vector<std::string> argv{gateway_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    spawn_options options;
    options.stdout_path = out_path;
    options.stderr_path = err_path;
    options.extra_env = extra_env;
    options.drop_env_prefix = "WSGATE_";
    return spawn_child(argv, options);
}

std::uint16_t port_of(const std::string& host_port) {
    const auto colon = host_port.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1)));
}

}  // namespace

gateway_process::gateway_process(std::vector<std::string> extra_args,
                                 const std::vector<std::string>& extra_env) {
    std::vector<std::string> args;
    if (!has_flag(extra_args, "server.listen")) {
        args.insert(args.end(), {"--server.listen", "127.0.0.1:0"});
    }
    if (!has_flag(extra_args, "log.level")) {
        args.insert(args.end(), {"--log.level", "info"});
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, extra_env, (dir_.path() / "wsgate.log").string(), "");
    try {
        wait_for_listening_line();
    } catch (...) {
        kill_and_reap(pid_);
        exited_ = true;
        throw;
    }
}

gateway_process::~gateway_process() {
    if (!exited_) {
        kill_and_reap(pid_);
    }
    print_log_on_failure("wsgate", gateway_binary(), [this] { return log_text(); }, 8000);
}

void gateway_process::wait_for_listening_line() {
    static const std::regex line(R"(listening public=(\S+) api=(\S+))");
    std::string log;
    std::smatch match;
    const auto wait = wait_for_log_match(
        pid_, startup_timeout, [this] { return log_text(); }, line, log, match);
    if (wait.ready) {
        public_port_ = port_of(match[1].str());
        api_port_ = port_of(match[2].str());
        return;
    }
    if (wait.exit_status) {
        exited_ = true;
        exit_status_ = *wait.exit_status;
        throw std::runtime_error("wsgate exited before listening; log:\n" + log);
    }
    throw std::runtime_error("no 'listening public=... api=...' line within 10 s; log:\n" + log);
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
    const auto status = reap_child(pid_, timeout);
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
    if (const auto status = reap_child(pid_, 0ms)) {
        exited_ = true;
        exit_status_ = *status;
        return false;
    }
    return true;
}

long gateway_process::resident_kib() const {
    if (exited_) {
        return -1;
    }
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));  // "VmRSS:	    1234 kB"
        }
    }
    return -1;
}

std::string gateway_process::log_text() const { return dir_.read_file("wsgate.log"); }

run_result gateway_process::run_to_completion(const std::vector<std::string>& args,
                                              const std::vector<std::string>& extra_env,
                                              std::chrono::milliseconds timeout) {
    temp_dir dir;
    const pid_t pid =
        spawn(args, extra_env, (dir.path() / "stdout").string(), (dir.path() / "stderr").string());
    auto status = reap_or_kill(pid, timeout);
    if (!status) {
        ADD_FAILURE() << "wsgate did not exit within " << timeout.count() << " ms";
        status = -1;
    }
    return run_result{*status, dir.read_file("stdout"), dir.read_file("stderr")};
}

}  // namespace wsgate::test
