#include <wsgate/app/shared_state.hpp>

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
      origins(cfg.server.allowed_origins),
      proxies(parse_ranges(cfg.server.trusted_proxies)),
      connections(cfg.limits.max_connections, cfg.limits.max_connections_per_ip) {}

}  // namespace wsgate
