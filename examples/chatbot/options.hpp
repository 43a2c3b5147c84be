#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace chatbot {

/// A `host:port` pair as given on the command line.
struct host_port {
    std::string host;
    std::uint16_t port = 0;
};

/// The command line of wsgate-chatbot.
struct options {
    host_port listen{"127.0.0.1", 0};  ///< --listen HOST:PORT (port 0: any free port)
    std::string secret;                ///< --secret S: the HMAC key shared with the gateway
    std::optional<host_port> gateway;  ///< --gateway http://HOST:PORT (for pushes over REST)
    std::string api_key;               ///< --api-key K: Bearer key for the gateway REST API
    bool help = false;                 ///< --help: print the usage and exit

    // Worker mode (`queue` transport): given --queue, the bot reads the service's Redis stream
    // instead of listening for webhooks, and answers every message through the REST API.
    std::optional<host_port> queue;            ///< --queue redis://HOST:PORT
    std::string stream = "wsgate:svc:chatbot";  ///< --stream: the service's stream key
    std::string group = "workers";              ///< --group: the consumer group
    std::string consumer;                       ///< --consumer: default <hostname>-<pid>
};

/// A command line that cannot be used; the message says why.
class usage_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Parses `--name value` and `--name=value` flags; throws usage_error.
options parse_options(int argc, char** argv);

/// The --help text.
std::string usage_text();

}  // namespace chatbot
