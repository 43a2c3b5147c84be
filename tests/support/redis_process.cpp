#include "redis_process.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "child_process.hpp"
#include "polling.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

std::string program(const char* env_name, const char* fallback) {
    const char* value = std::getenv(env_name);
    return value != nullptr && *value != '\0' ? value : fallback;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

redis_process::redis_process(bool also_ipv6) : also_ipv6_(also_ipv6) {
    // The port was free when we looked; another process may take it before redis binds it.
    for (int attempt = 1;; ++attempt) {
        port_ = free_loopback_port();
        try {
            spawn_server();
            wait_until_answering();
            return;
        } catch (const std::exception&) {
            if (pid_ > 0) {
                kill_and_reap(pid_);
                pid_ = -1;
            }
            if (attempt == 3) {
                throw;
            }
        }
    }
}

redis_process::~redis_process() {
    if (pid_ > 0) {
        kill_and_reap(pid_);
    }
    print_log_on_failure("redis-server", "port " + std::to_string(port_),
                         [this] { return log_text(); }, 4000);
}

std::string redis_process::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

std::string redis_process::url_ipv6() const { return "redis://[::1]:" + std::to_string(port_); }

void redis_process::spawn_server() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> argv{program("WSGATE_REDIS_SERVER", "redis-server"), "--port", port,
                                  "--bind", "127.0.0.1"};
    if (also_ipv6_) argv.emplace_back("::1");  // redis joins the words up to the next --option
    argv.insert(argv.end(), {"--save", "", "--appendonly", persistent_ ? "yes" : "no",
                             "--appendfsync", "always", "--daemonize", "no", "--dir",
                             dir_.path().string(), "--logfile", "", "--loglevel", "notice",
                             "--databases", "1"});
    pid_ = spawn_logged(argv, (dir_.path() / "redis.log").string());
    paused_ = false;
}

void redis_process::wait_until_answering() {
    const auto wait = wait_until_ready(pid_, 10s, [this] { return ping(200ms); });
    if (wait.exit_status) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited on port " + std::to_string(port_) +
                                 "; log:\n" + tail_of(log_text(), 4000));
    }
    if (!wait.ready) {
        throw std::runtime_error("redis-server did not answer PING within 10 s; log:\n" +
                                 tail_of(log_text(), 4000));
    }
}

void redis_process::persist() {
    persistent_ = true;
    command({"CONFIG", "SET", "appendfsync", "always"});
    command({"CONFIG", "SET", "appendonly", "yes"});
    // Turning the file on rewrites it in the background: wait until the data is in it.
    const bool written = wait_until(
        [&] {
            const std::string info = command({"INFO", "persistence"});
            return info.find("aof_rewrite_in_progress:0") != std::string::npos &&
                   info.find("aof_rewrite_scheduled:0") != std::string::npos;
        },
        10s, 20ms);
    if (!written) throw std::runtime_error("redis-server did not write its append-only file");
}

void redis_process::start() {
    if (pid_ > 0) {
        throw std::logic_error("redis_process::start: the server is already running");
    }
    spawn_server();
    wait_until_answering();
}

void redis_process::stop() {
    if (pid_ <= 0) {
        return;
    }
    if (paused_) {
        resume();
    }
    ::kill(pid_, SIGTERM);
    reap_or_kill(pid_, 5s);
    pid_ = -1;
}

void redis_process::pause() {
    if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0) {
        paused_ = true;
    }
}

void redis_process::resume() {
    if (pid_ > 0 && ::kill(pid_, SIGCONT) == 0) {
        paused_ = false;
    }
}

bool redis_process::ping(std::chrono::milliseconds timeout) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    set_timeouts(fd, timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    static constexpr char request[] = "PING\r\n";
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, request, sizeof request - 1, MSG_NOSIGNAL) ==
            static_cast<ssize_t>(sizeof request - 1)) {
        std::string reply;
        char buffer[64];
        while (reply.find("\r\n") == std::string::npos) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) {
                break;
            }
            reply.append(buffer, static_cast<std::size_t>(n));
        }
        ok = reply.rfind("+PONG\r\n", 0) == 0;
    }
    ::close(fd);
    return ok;
}

std::string redis_process::command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{program("WSGATE_REDIS_CLI", "redis-cli"), "-h", "127.0.0.1",
                                  "-p", std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string name = "cli-" + std::to_string(++commands_run_) + ".out";
    const auto out = dir_.path() / name;
    const pid_t pid = spawn_logged(argv, out.string());
    const auto status = reap_or_kill(pid, 5s);
    std::string text = dir_.read_file(name);
    std::error_code ignored;
    std::filesystem::remove(out, ignored);
    if (!status || *status != 0) {
        std::string joined;
        for (const auto& a : args) {
            joined += " " + a;
        }
        throw std::runtime_error("redis-cli" + joined +
                                 (status ? " exited with " + std::to_string(*status)
                                         : std::string(" timed out")) +
                                 ": " + text);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

long long redis_process::numsub(const std::string& redis_channel) const {
    // Raw output: the channel name on one line, its count on the next.
    const std::string out = command({"PUBSUB", "NUMSUB", redis_channel});
    const auto newline = out.rfind('\n');
    if (newline == std::string::npos) {
        throw std::runtime_error("unexpected PUBSUB NUMSUB answer: " + out);
    }
    return std::stoll(out.substr(newline + 1));
}

std::vector<std::string> redis_process::channels(const std::string& pattern) const {
    std::istringstream in(command({"PUBSUB", "CHANNELS", pattern}));
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            names.push_back(line);
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string redis_process::log_text() const { return dir_.read_file("redis.log"); }

}  // namespace wsgate::test
