#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "temp_dir.hpp"

namespace wsgate::test {

/// What a run of the binary to completion produced.
struct run_result {
    int exit_status = -1;  ///< exit code, or 128 + signal number when killed by a signal
    std::string out;       ///< everything written to stdout
    std::string err;       ///< everything written to stderr
};

/// The wsgate binary the tests run: WSGATE_BINARY (this build's), or the one named by the
/// environment variable WSGATE_TEST_BINARY (e.g. an older build, to see a test fail there).
const char* gateway_binary();

/// One wsgate process started from gateway_binary() for the duration of a test.
///
/// The constructor adds `--server.listen 127.0.0.1:0` (unless the arguments set server.listen)
/// and `--log.level info` (unless they set log.level), sends stdout and stderr to a log file in
/// a fresh temp directory (never a pipe, which could block the server), and waits up to 10 s for
/// the `listening public=HOST:PORT api=HOST:PORT` line. It throws std::runtime_error, with the
/// log, when the process exits or the line does not appear. The destructor kills the process
/// with SIGKILL if it still runs, and prints the log when the current test has failed.
class gateway_process {
  public:
    /// `extra_env`: `NAME=value` entries added to its environment (which otherwise holds no
    /// WSGATE_ variable).
    explicit gateway_process(std::vector<std::string> extra_args = {},
                             const std::vector<std::string>& extra_env = {});
    ~gateway_process();
    gateway_process(const gateway_process&) = delete;
    gateway_process& operator=(const gateway_process&) = delete;

    std::uint16_t public_port() const { return public_port_; }
    /// The REST API port (equal to public_port() unless server.api_listen is set).
    std::uint16_t api_port() const { return api_port_; }
    pid_t pid() const { return pid_; }

    void send_signal(int signal_number) const;

    /// Waits for the process to exit; returns its exit status (128 + signal when killed by one).
    /// On timeout it records a test failure and returns -1 (the process keeps running).
    int wait_exit(std::chrono::milliseconds timeout);

    /// False once the process has exited (its status is then what wait_exit() returns).
    bool running();

    /// Its resident set size in KiB (VmRSS in /proc/<pid>/status); -1 once it has exited.
    long resident_kib() const;

    /// Everything the process logged so far (stdout and stderr interleaved).
    std::string log_text() const;

    /// Runs the binary with exactly `args` until it exits (killed after `timeout`), with
    /// `extra_env` entries (`NAME=value`) added to an environment without any WSGATE_ variable.
    static run_result run_to_completion(
        const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {},
        std::chrono::milliseconds timeout = std::chrono::seconds(10));

  private:
    void wait_for_listening_line();

    temp_dir dir_;
    pid_t pid_ = -1;
    bool exited_ = false;
    int exit_status_ = -1;
    std::uint16_t public_port_ = 0;
    std::uint16_t api_port_ = 0;
};

}  // namespace wsgate::test
