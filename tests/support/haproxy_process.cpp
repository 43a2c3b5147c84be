#include "haproxy_process.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <thread>

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
        const pid_t check = spawn_logged({haproxy_program(), "-c", "-f", config_path_.string()}, log);
        const auto check_status = reap_child(check, 10s);
        if (!check_status || *check_status != 0) {
            if (!check_status) {
                ::kill(check, SIGKILL);
                reap_child(check, 5s);
            }
            throw std::runtime_error("haproxy -c rejected " + config_path_.string() + ":\n" +
                                     log_text());
        }

        pid_ = spawn_logged({haproxy_program(), "-f", config_path_.string(), "-db"}, log);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        bool exited = false;
        while (!loopback_port_accepts(port_)) {
            if (reap_child(pid_, 0ms).has_value()) {
                exited = true;
                pid_ = -1;
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                reap_child(pid_, 5s);
                pid_ = -1;
                throw std::runtime_error("haproxy did not accept connections within 10 s; log:\n" +
                                         tail_of(log_text(), 4000));
            }
            std::this_thread::sleep_for(10ms);
        }
        if (!exited) {
            return;
        }
        if (attempt == 3) {  // most likely the port was taken between our look and its bind
            throw std::runtime_error("haproxy exited at start-up; log:\n" +
                                     tail_of(log_text(), 4000));
        }
    }
}

haproxy_process::~haproxy_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        reap_child(pid_, 5s);
    }
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0) {
        std::cerr << "---- haproxy log (port " << port_ << ") ----\n"
                  << tail_of(log_text(), 4000) << "\n---- end of haproxy log ----\n";
    }
}

std::string haproxy_process::log_text() const { return dir_.read_file("haproxy.log"); }

}  // namespace wsgate::test
