#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate {

/// An IPv4 or IPv6 address range, as "10.0.0.0/8", "::1/128" or a single address.
struct address_range {
    std::array<unsigned char, 16> bytes{};  ///< IPv4 is held IPv4-mapped (::ffff:a.b.c.d)
    unsigned prefix = 128;                  ///< bits, counted in the 16-byte form
};

/// nullopt unless `text` is an address or an address/prefix of its family.
std::optional<address_range> parse_address_range(std::string_view text);

/// Which peers are proxies whose X-Forwarded-For header is believed (`server.trusted_proxies`).
/// I/O-free.
class proxy_trust {
public:
    proxy_trust() = default;
    explicit proxy_trust(std::vector<address_range> proxies) : proxies_(std::move(proxies)) {}

    bool trusted(std::string_view address) const;

    /// The address a request comes from: `peer`, unless `peer` is a trusted proxy; then the
    /// right-most address in X-Forwarded-For that is not a trusted proxy (each proxy appends the
    /// address it saw, so addresses left of the first untrusted one may be forged). When every
    /// listed address is trusted, the left-most; an unparsable entry ends the walk at the last
    /// good one.
    std::string client_address(const std::string& peer, std::string_view forwarded_for) const;

private:
    std::vector<address_range> proxies_;
};

}  // namespace wsgate
