#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

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

    /// Everything the bot wrote so far (stdout and stderr).
    std::string log_text() const;

  private:
    void wait_for_listening_line();

    temp_dir dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace wsgate::test
