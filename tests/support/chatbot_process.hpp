#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "temp_dir.hpp"

namespace wsgate::test {

/// The example chat bot (examples/chatbot, WSGATE_CHATBOT_BINARY) running for one test.
///
/// The constructor starts it with `--listen 127.0.0.1:0 --secret <secret>` (plus `--gateway
/// http://127.0.0.1:<gateway_port> --api-key <api_key>` when a gateway port is given), stdout and
/// stderr appended to a log file in a fresh temp directory (never a pipe, which could block the
/// bot), and waits up to 10 s for its `chatbot listening on HOST:PORT` line; it throws
/// std::runtime_error, with the log, when the bot exits first or the line does not come. The
/// destructor kills the bot (SIGKILL) and prints its log when the current test has failed.
class chatbot_process {
  public:
    explicit chatbot_process(const std::string& secret,
                             std::optional<std::uint16_t> gateway_port = std::nullopt,
                             const std::string& api_key = "");
    ~chatbot_process();

    /// The bot in worker mode for a `queue` service: `--queue <redis_url> --gateway
    /// http://127.0.0.1:<gateway_port> --api-key <api_key>` (plus `--consumer <consumer>` when
    /// given, and `--stream`/`--group` left at wsgate:svc:chatbot / workers unless `extra_args`
    /// set them), logging as the constructor does; waits up to 10 s for its `chatbot worker
    /// ready` line (throws std::runtime_error, with the log, otherwise). port() is 0.
    static std::unique_ptr<chatbot_process> worker(const std::string& redis_url,
                                                   std::uint16_t gateway_port,
                                                   const std::string& api_key,
                                                   const std::string& consumer = "",
                                                   const std::vector<std::string>& extra_args = {});

    chatbot_process(const chatbot_process&) = delete;
    chatbot_process& operator=(const chatbot_process&) = delete;

    std::uint16_t port() const { return port_; }
    /// `http://127.0.0.1:<port><path>`, for a service's `url`.
    std::string url(const std::string& path = "/chat") const;
    /// `ws://127.0.0.1:<port><path>`, for a `websocket` service's `url`.
    std::string ws_url(const std::string& path = "/ws-chat") const;
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    /// Kills the bot (SIGKILL) and waits for it: its connections drop, its port stops accepting.
    void kill();

    /// Asks the bot to stop (SIGTERM) and waits up to `timeout` for it to exit: its exit status
    /// (128 + signal when a signal ended it), or nullopt when it had to be killed (SIGKILL).
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Everything the bot wrote so far (stdout and stderr).
    std::string log_text() const;

  private:
    struct worker_tag {};
    chatbot_process(worker_tag, const std::vector<std::string>& args);

    void wait_for_listening_line();
    void wait_for_worker_ready_line();

    temp_dir dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace wsgate::test
