#include <wsgate/app/shared_state.hpp>

#include <wsgate/auth/subscribe_checker.hpp>

#include <chrono>

namespace wsgate {

namespace {
std::vector<address_range> parse_ranges(const std::vector<std::string>& texts) {
    std::vector<address_range> out;
    for (const auto& t : texts) {
        if (auto r = parse_address_range(t)) out.push_back(*r);  // validated by load_config()
    }
    return out;
}
}  // namespace

shared_state::shared_state(config c)
    : cfg(std::move(c)),
      names{cfg.limits.max_channel_length, cfg.limits.channel_chars},
      sweeper(session_sweeper::period_for(std::min({cfg.heartbeat.interval, cfg.timeouts.handshake,
                                                    cfg.timeouts.welcome, cfg.timeouts.close}))),
      tokens(cfg.auth.jwt.algorithm.empty()
                 ? std::nullopt
                 : std::optional<auth::jwt_verifier>(std::in_place, cfg.auth.jwt)),
      channels(cfg.channels),
      origins(cfg.server.allowed_origins),
      proxies(parse_ranges(cfg.server.trusted_proxies)),
      connections(cfg.limits.max_connections, cfg.limits.max_connections_per_ip) {}

shared_state::~shared_state() = default;

void shared_state::stamp(envelope& e) {
    using namespace std::chrono;
    e.id = next_event_id();
    e.origin = cfg.server.instance_id;
    e.timestamp_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::variant<auth::jwt_identity, auth::jwt_error> shared_state::verify_token(
    std::string_view token) const {
    using namespace std::chrono;
    const auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    auto result = tokens->verify(token, now);
    if (auto* id = std::get_if<auth::jwt_identity>(&result); id && !names.valid(id->subject))
        return auth::jwt_error{auth::jwt_error_code::invalid_claims,
                               "sub is not a valid user id: " + names.describe("a user id")};
    return result;
}

}  // namespace wsgate
