#include "haproxy_process.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "child_process.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

std::string haproxy_program() {
    const char* value = std::getenv("WSGATE_HAPROXY");
    return value != nullptr && *value != '\0' ? value : "haproxy";
}

std::string read_whole(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

std::filesystem::path haproxy_process::template_path() {
    if (const char* value = std::getenv("WSGATE_HAPROXY_TEMPLATE"); value != nullptr && *value) {
        return value;
    }
#ifdef WSGATE_SOURCE_DIR
    return std::filesystem::path(WSGATE_SOURCE_DIR) / "docker" / "haproxy.cfg";
#else
    // This file is <source>/tests/support/haproxy_process.cpp (CMake passes absolute paths).
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docker" /
           "haproxy.cfg";
#endif
}

std::string haproxy_process::render(const std::string& text,
                                    const std::map<std::string, std::string>& values) {
    std::string out;
    std::size_t pos = 0;
    for (;;) {
        const auto start = text.find("${", pos);
        if (start == std::string::npos) {
            out.append(text, pos, std::string::npos);
            return out;
        }
        const auto end = text.find('}', start);
        if (end == std::string::npos) {
            throw std::runtime_error("unterminated ${ in the HAProxy template");
        }
        const std::string name = text.substr(start + 2, end - start - 2);
        const auto it = values.find(name);
        if (it == values.end()) {
            throw std::runtime_error("the HAProxy template uses ${" + name +
                                     "}, which the test does not provide");
        }
        out.append(text, pos, start - pos);
        out += it->second;
        pos = end + 1;
    }
}

haproxy_process::haproxy_process(const std::vector<std::uint16_t>& backend_ports) {
    const std::string text = read_whole(template_path());
    for (int attempt = 1;; ++attempt) {
        port_ = free_loopback_port();
        std::map<std::string, std::string> values{
            {"WSGATE_LB_BIND", "127.0.0.1:" + std::to_string(port_)}};
        for (std::size_t i = 0; i < backend_ports.size(); ++i) {
            values["WSGATE" + std::to_string(i + 1) + "_ADDR"] =
                "127.0.0.1:" + std::to_string(backend_ports[i]);
        }
        config_path_ = dir_.write_file("haproxy.cfg", render(text, values));

        const auto log = (dir_.path() / "haproxy.log").string();
        const pid_t check =
            spawn_logged({haproxy_program(), "-c", "-f", config_path_.string()}, log);
        const auto check_status = reap_or_kill(check, 10s);
        if (!check_status || *check_status != 0) {
            throw std::runtime_error("haproxy -c rejected " + config_path_.string() + ":\n" +
                                     log_text());
        }

        pid_ = spawn_logged({haproxy_program(), "-f", config_path_.string(), "-db"}, log);
        const auto wait =
            wait_until_ready(pid_, 10s, [this] { return loopback_port_accepts(port_); });
        if (wait.ready) {
            return;
        }
        if (!wait.exit_status) {
            kill_and_reap(pid_);
            pid_ = -1;
            throw std::runtime_error("haproxy did not accept connections within 10 s; log:\n" +
                                     tail_of(log_text(), 4000));
        }
        pid_ = -1;
        if (attempt == 3) {  // most likely the port was taken between our look and its bind
            throw std::runtime_error("haproxy exited at start-up; log:\n" +
                                     tail_of(log_text(), 4000));
        }
    }
}

haproxy_process::~haproxy_process() {
    if (pid_ > 0) {
        kill_and_reap(pid_);
    }
    print_log_on_failure("haproxy", "port " + std::to_string(port_), [this] { return log_text(); },
                         4000);
}

std::string haproxy_process::log_text() const { return dir_.read_file("haproxy.log"); }

}  // namespace wsgate::test
