#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <wsgate/auth/channel_policy.hpp>
#include <wsgate/auth/jwt.hpp>
#include <wsgate/redis/redis_address.hpp>

namespace wsgate {

/// A `host:port` pair as given in the configuration (port 0 = pick a free port).
struct endpoint_config {
    std::string host;
    std::uint16_t port = 0;
};

/// A backend service clients can send messages to (docs/services.md).
struct service_config {
    std::string name;
    std::string transport;  ///< "http" or "websocket"
    std::string url;        ///< as configured
    std::string host;       ///< parsed from url
    std::uint16_t port = 80;
    std::string path = "/";
    std::string secret;  ///< HMAC-SHA256 key for request signatures
    std::chrono::milliseconds timeout{5000};
    std::size_t max_bytes = 64 * 1024;
    bool users_only = false;  ///< allow: "users"
    std::size_t max_connections = 16;
    std::size_t max_pending = 1024;
    /// limits.json_max_depth (set by load_config()): how deeply the service's answers may nest.
    std::size_t json_max_depth = 64;
};

/// The whole configuration of one wsgate process. Defaults are the documented ones
/// (docs/configuration.md, config/wsgate.json).
struct config {
    struct server_section {
        endpoint_config listen{"0.0.0.0", 8080};
        bool separate_api = false;  ///< true when `server.api_listen` is set
        endpoint_config api_listen;
        std::string ws_path = "/ws";
        std::string instance_id;  ///< never empty after load_config(): random when not given
        std::vector<std::string> allowed_origins;  ///< empty: any Origin may open a WebSocket
        std::vector<std::string> trusted_proxies;  ///< addresses/ranges whose X-Forwarded-For counts
    } server;

    struct log_section {
        std::string level = "info";  ///< trace, debug, info, warn, error, critical, off
        std::string format = "text";  ///< text or json
    } log;

    struct auth_section {
        std::vector<std::string> api_keys;
        bool insecure_dev_user = false;
        bool anonymous = true;  ///< clients without a token may connect
        /// Client tokens; `jwt.algorithm` empty: tokens are not accepted.
        auth::jwt_settings jwt;
        std::string jwt_public_key_file;  ///< where jwt.public_key_pem was read from
        /// The subscribe-check webhook (channel rules with `check`); url empty: none.
        struct subscribe_check_section {
            static service_config default_webhook() {
                service_config s;
                s.name = "subscribe_check";
                s.transport = "http";
                s.timeout = std::chrono::milliseconds(2000);
                return s;
            }
            std::string url;
            service_config webhook = default_webhook();
            std::chrono::milliseconds cache{30000};
        } subscribe_check;
    } auth;

    /// Who may subscribe and publish on which channels, first matching rule first.
    std::vector<auth::channel_rule> channels{{"*", auth::access::anyone, auth::access::nobody,
                                              false}};

    struct limits_section {
        std::size_t max_message_bytes = 64 * 1024;
        /// A client's backlog (bytes queued and not yet taken by its socket, before the message
        /// at hand) beyond which it is closed as a slow consumer.
        std::size_t max_queue_bytes = 2 * 1024 * 1024;
        std::size_t max_subscriptions = 128;
        std::size_t max_channel_length = 128;
        std::string channel_chars = "-_.:@/=";
        std::size_t max_body_bytes = 1024 * 1024;
        std::size_t max_batch_events = 1000;
        /// How deeply arrays and objects may nest in a value of any JSON input.
        std::size_t json_max_depth = 64;
        std::size_t max_connections = 100000;        ///< WebSocket clients in all; 0: no limit
        std::size_t max_connections_per_ip = 1000;   ///< 0: no limit
        double message_rate = 100;                   ///< client messages per second
        double message_burst = 200;
        double publish_rate = 0;                     ///< events/s per API key; 0: no limit
        double publish_burst = 1000;
    } limits;

    /// The deadline of each phase of a connection (docs/protocol.md, "Deadlines").
    struct timeouts_section {
        std::chrono::milliseconds handshake{5000};  ///< HTTP request (and TLS) until the upgrade
        std::chrono::milliseconds welcome{5000};    ///< upgrade until the welcome (auth, bus)
        std::chrono::milliseconds close{5000};      ///< close frame queued until the socket closes
        std::chrono::milliseconds http_idle{30000};
    } timeouts;

    struct websocket_section {
        bool permessage_deflate = true;  ///< accept a client's permessage-deflate offer
        /// Messages shorter than this go uncompressed even to clients that negotiated it.
        std::size_t deflate_min_bytes = 128;
    } websocket;

    /// TLS served by wsgate itself (wss://, https://); cert_file empty: plain.
    struct tls_section {
        std::string cert_file;  ///< PEM certificate chain, the server's certificate first
        std::string key_file;   ///< PEM private key (not encrypted)
        bool api = false;       ///< the server.api_listen listener uses TLS too
        bool enabled() const { return !cert_file.empty(); }
    } tls;

    struct heartbeat_section {
        std::chrono::milliseconds interval{25000};
    } heartbeat;

    struct redis_section {
        std::string url;  ///< empty: the in-process bus (one instance)
        std::optional<redis_address> address;  ///< parsed from url when it is set
        std::string prefix = "wsgate:";  ///< prefix of every Redis channel
        /// Connecting (name lookup included), Redis's silence while a reply is awaited, and the
        /// canary's round trip must each take less.
        std::chrono::milliseconds timeout{1000};
        std::chrono::milliseconds reconnect_max{1000};
        std::chrono::milliseconds canary_interval{500};
    } redis;

    std::map<std::string, service_config> services;

    /// Channel history and exactly-once publishing (docs/history.md); each channel rule says
    /// how much history its channels keep.
    struct history_section {
        /// What the embedded engine's history may hold in all (events and bookkeeping).
        std::size_t memory_bytes = 64 * 1024 * 1024;
        /// How long a publish's idempotency_key makes a retry return the first answer.
        std::chrono::milliseconds idempotency_window{300000};
        /// Keys the embedded engine remembers at most (the oldest is forgotten first).
        std::size_t idempotency_keys = 100000;
        /// Events one recovery (or one history request) replays at most.
        std::size_t max_replay = 1000;
        /// With Redis: how long an instance retries reading the events it missed (its
        /// subscriber link broke, or an offset was skipped) before it reports them as a gap.
        std::chrono::milliseconds repair_timeout{10000};
        /// Events kept of each user's stream (0: none), and how long it lives after its last.
        std::size_t user_size = 0;
        std::chrono::milliseconds user_ttl{600000};
    } history;

    struct shutdown_section {
        std::chrono::milliseconds drain{10000};
        std::chrono::milliseconds reconnect_max{5000};
    } shutdown;
};

/// Thrown by load_config() for any invalid input; what() is one line naming the key and why,
/// e.g. "limits.max_message_bytes: must be an integer between 256 and 67108864 (got \"10\")".
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What the command line asked for besides a configuration.
enum class config_action { run, help, version };

struct load_result {
    config_action action = config_action::run;
    config cfg;
    /// One line each for main to log once logging is set up (unknown WSGATE_* variables).
    std::vector<std::string> warnings;
};

/// Builds the configuration from defaults < JSON file (`--config PATH`) < environment
/// (`WSGATE_*`, taken from `env`) < command-line flags (`args`, without argv[0]).
/// Throws config_error on an unknown key, a bad value, an unreadable file or a bad flag; an
/// unknown WSGATE_* variable is no error, only a line in `warnings`.
load_result load_config(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env);

/// Collects the WSGATE_* variables of the process environment.
std::map<std::string, std::string> wsgate_environment();

/// The text printed by `--help`: usage, then every key with its default and variable name.
std::string config_help();

}  // namespace wsgate
