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
    /// address the last trusted proxy saw. `forwarded_for` holds the request's X-Forwarded-For
    /// field lines in the order they came (a proxy may append a line of its own rather than
    /// add to the client's, as HAProxy's `option forwardfor` does); together they are one
    /// comma-separated list. It is walked from the right, past addresses that are trusted
    /// proxies (each proxy appends the address it saw, so whatever is left of the first
    /// untrusted one may be forged): the first untrusted address is the client. When every
    /// address is trusted, the left-most. An entry that is not a plain IPv4 or IPv6 address
    /// (empty, `unknown`, with a port or brackets) ends the walk: the client is then the
    /// trusted hop right of it (the proxy that wrote it), or `peer` when it is the last entry.
    std::string client_address(const std::string& peer,
                               const std::vector<std::string_view>& forwarded_for) const;
    /// The same for a single X-Forwarded-For field line.
    std::string client_address(const std::string& peer, std::string_view forwarded_for) const {
        return client_address(peer, std::vector<std::string_view>{forwarded_for});
    }

private:
    std::vector<address_range> proxies_;
};

}  // namespace wsgate
