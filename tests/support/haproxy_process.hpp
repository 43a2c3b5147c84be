#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

#include "temp_dir.hpp"

namespace wsgate::test {

/// HAProxy (from PATH, or $WSGATE_HAPROXY) in front of wsgate instances on loopback, configured
/// from the same file the compose stack mounts: docker/haproxy.cfg. Its `${NAME}` placeholders
/// are substituted (WSGATE_LB_BIND = 127.0.0.1:<free port>, WSGATE<n>_ADDR = 127.0.0.1:<port of
/// backend n>); the rendered file is checked with `haproxy -c` and run with
/// `haproxy -f <file> -db` in the foreground. The constructor waits up to 10 s until the port
/// accepts connections (throws std::runtime_error, with the log, otherwise). The destructor kills
/// HAProxy and prints its log when the current test has failed.
class haproxy_process {
  public:
    /// `backend_ports`: the public port of wsgate 1, 2, 3 (the template names three servers).
    explicit haproxy_process(const std::vector<std::uint16_t>& backend_ports);
    ~haproxy_process();
    haproxy_process(const haproxy_process&) = delete;
    haproxy_process& operator=(const haproxy_process&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    /// The rendered configuration file.
    const std::filesystem::path& config_path() const { return config_path_; }
    std::string log_text() const;

    /// The template: $WSGATE_HAPROXY_TEMPLATE, else docker/haproxy.cfg of this source tree.
    static std::filesystem::path template_path();
    /// `text` with every `${NAME}` of `values` replaced; throws std::runtime_error when a
    /// placeholder is left that `values` does not name.
    static std::string render(const std::string& text,
                              const std::map<std::string, std::string>& values);

  private:
    temp_dir dir_;
    std::filesystem::path config_path_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace wsgate::test
