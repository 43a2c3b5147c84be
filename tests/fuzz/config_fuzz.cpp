// libFuzzer target: the configuration loader, load_config().
//
// Input: a configuration file, written to a memfd and loaded with --config /proc/self/fd/N.
// An input starting with "ENV\n" is instead a list of lines: "--flag[=value]" lines are
// command-line arguments, "NAME=value" lines environment variables (WSGATE_SERVICES and the
// other text forms).
//
// config_error is the answer to bad input; any other exception, or a crash, is a bug.

#include <wsgate/config/config.hpp>
#include <wsgate/protocol/client_message.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"

using namespace wsgate;

namespace {

// The path of a memfd that holds `data`.
const std::string& file_with(const std::uint8_t* data, std::size_t size) {
    static const int fd = memfd_create("wsgate-config-fuzz", 0);
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    std::size_t done = 0;
    while (done < size) {
        const auto n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        FUZZ_CHECK(n > 0);
        done += static_cast<std::size_t>(n);
    }
    return path;
}

void check(const config& c) {
    FUZZ_CHECK(!c.server.instance_id.empty());
    FUZZ_CHECK(!c.server.ws_path.empty() && c.server.ws_path.front() == '/');
    FUZZ_CHECK(c.limits.max_channel_length >= 1);
    FUZZ_CHECK(c.redis.url.empty() == !c.redis.address.has_value());
    for (const auto& [name, s] : c.services) {
        FUZZ_CHECK(name == s.name && protocol::valid_service_name(name));
        if (s.transport == "queue") {
            FUZZ_CHECK(c.redis.address.has_value());
        } else {
            FUZZ_CHECK(s.transport == "http" || s.transport == "websocket");
            FUZZ_CHECK(!s.host.empty() && s.port != 0 && !s.path.empty() && s.path[0] == '/');
            FUZZ_CHECK(s.secret.size() >= 16);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    constexpr std::string_view env_magic = "ENV\n";
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (text.substr(0, env_magic.size()) == env_magic) {
        std::string_view rest = text.substr(env_magic.size());
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            const std::string_view line = rest.substr(0, nl);
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
            if (line.substr(0, 1) == "-") {
                args.emplace_back(line);
            } else if (const auto eq = line.find('='); eq != std::string_view::npos) {
                env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
            }
        }
    } else {
        args = {"--config", file_with(data, size)};
    }

    try {
        const auto result = load_config(args, env);
        if (result.action == config_action::run) check(result.cfg);
    } catch (const config_error& e) {
        FUZZ_CHECK(std::strlen(e.what()) > 0);
    }
    return 0;
}
