#include "chatbot_process.hpp"

#include <csignal>
#include <regex>
#include <stdexcept>
#include <vector>

#include "child_process.hpp"

// The path of the wsgate-chatbot executable. Without it this file still compiles (so that the
// support library builds before the example is wired into CMake); starting the bot then throws.
#ifndef WSGATE_CHATBOT_BINARY
#define WSGATE_CHATBOT_BINARY ""
#endif

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

constexpr auto startup_timeout = 10s;
constexpr const char* log_name = "chatbot.log";

std::vector<std::string> bot_arguments(const std::string& secret,
                                       std::optional<std::uint16_t> gateway_port,
                                       const std::string& api_key) {
    std::vector<std::string> args{WSGATE_CHATBOT_BINARY, "--listen", "127.0.0.1:0", "--secret",
                                  secret};
    if (gateway_port) {
        args.insert(args.end(),
                    {"--gateway", "http://127.0.0.1:" + std::to_string(*gateway_port)});
    }
    if (!api_key.empty()) {
        args.insert(args.end(), {"--api-key", api_key});
    }
    return args;
}

}  // namespace

chatbot_process::chatbot_process(const std::string& secret,
                                 std::optional<std::uint16_t> gateway_port,
                                 const std::string& api_key) {
    if (std::string(WSGATE_CHATBOT_BINARY).empty()) {
        throw std::runtime_error(
            "WSGATE_CHATBOT_BINARY is not defined: add it to wsgate_test_support");
    }
    pid_ = spawn_logged(bot_arguments(secret, gateway_port, api_key),
                        (dir_.path() / log_name).string());
    try {
        wait_for_listening_line();
    } catch (...) {
        kill();
        throw;
    }
}

chatbot_process::chatbot_process(worker_tag, const std::vector<std::string>& args) {
    if (std::string(WSGATE_CHATBOT_BINARY).empty()) {
        throw std::runtime_error(
            "WSGATE_CHATBOT_BINARY is not defined: add it to wsgate_test_support");
    }
    pid_ = spawn_logged(args, (dir_.path() / log_name).string());
    try {
        wait_for_worker_ready_line();
    } catch (...) {
        kill();
        throw;
    }
}

std::unique_ptr<chatbot_process> chatbot_process::worker(const std::string& redis_url,
                                                         std::uint16_t gateway_port,
                                                         const std::string& api_key,
                                                         const std::string& consumer,
                                                         const std::vector<std::string>& extra_args) {
    std::vector<std::string> args{WSGATE_CHATBOT_BINARY, "--queue", redis_url, "--gateway",
                                  "http://127.0.0.1:" + std::to_string(gateway_port)};
    if (!api_key.empty()) {
        args.insert(args.end(), {"--api-key", api_key});
    }
    if (!consumer.empty()) {
        args.insert(args.end(), {"--consumer", consumer});
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return std::unique_ptr<chatbot_process>(new chatbot_process(worker_tag{}, args));
}

chatbot_process::~chatbot_process() {
    kill();
    print_log_on_failure("wsgate-chatbot", port_ != 0 ? "port " + std::to_string(port_) : "worker",
                         [this] { return log_text(); }, 4000);
}

std::string chatbot_process::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void chatbot_process::kill() {
    if (pid_ <= 0) {
        return;
    }
    kill_and_reap(pid_);
    pid_ = -1;
}

std::optional<int> chatbot_process::stop(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) {
        return std::nullopt;
    }
    ::kill(pid_, SIGTERM);
    const auto status = reap_or_kill(pid_, timeout);
    pid_ = -1;
    return status;
}

std::string chatbot_process::ws_url(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(port_) + path;
}

std::string chatbot_process::log_text() const { return dir_.read_file(log_name); }

void chatbot_process::wait_for_listening_line() {
    static const std::regex line(R"(chatbot listening on (\S+):(\d+)\n)");
    std::string log;
    std::smatch match;
    const auto wait = wait_for_log_match(
        pid_, startup_timeout, [this] { return log_text(); }, line, log, match);
    if (wait.ready) {
        port_ = static_cast<std::uint16_t>(std::stoi(match[2].str()));
        return;
    }
    if (wait.exit_status) {
        pid_ = -1;
        throw std::runtime_error("wsgate-chatbot exited (status " +
                                 std::to_string(*wait.exit_status) + ") before listening; log:\n" +
                                 tail_of(log, 4000));
    }
    throw std::runtime_error("no 'chatbot listening on HOST:PORT' line within 10 s; log:\n" +
                             tail_of(log, 4000));
}

void chatbot_process::wait_for_worker_ready_line() {
    static const std::regex line(R"(chatbot worker ready)");
    std::string log;
    std::smatch match;
    const auto wait = wait_for_log_match(
        pid_, startup_timeout, [this] { return log_text(); }, line, log, match);
    if (wait.ready) {
        return;
    }
    if (wait.exit_status) {
        pid_ = -1;
        throw std::runtime_error("wsgate-chatbot worker exited (status " +
                                 std::to_string(*wait.exit_status) + ") before it was ready; log:\n" +
                                 tail_of(log, 4000));
    }
    throw std::runtime_error("no 'chatbot worker ready' line within 10 s; log:\n" +
                             tail_of(log, 4000));
}

}  // namespace wsgate::test
