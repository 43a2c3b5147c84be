#pragma once

#include <optional>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/url/url_view.hpp>

namespace wsgate {

/// Reading an HTTP/1.1 request's head as RFC 7230 asks (what Beast leaves to its user). I/O-free.

/// True when `element` is one of the comma-separated elements of every `name` field line of
/// `fields` together: a list header sent on several lines is one list (RFC 7230 3.2.2), empty
/// elements are skipped (RFC 7230 7), and elements compare ASCII case-insensitively and whole,
/// so an Upgrade element `foo/1` (a protocol with its version, RFC 7230 6.7) is not `foo`.
bool list_contains(const boost::beast::http::fields& fields, boost::beast::http::field name,
                   std::string_view element);

/// Whether the client keeps the connection open after this request, by every Connection line:
/// HTTP/1.1 unless `close` is among them, HTTP/1.0 only when `keep-alive` is.
bool keeps_alive(const boost::beast::http::fields& fields, unsigned version);

/// A request target routed by its path and query whatever its form (RFC 7230 5.3).
struct request_target {
    /// The path as sent (percent-encoded, no query): of the origin form (`/ws?x=1`), of the
    /// absolute form (`http://host/ws?x=1`, which servers MUST accept), where an empty path is
    /// `/`; `*` for the asterisk form (`OPTIONS *`).
    std::string_view path;
    /// The parsed target, for its query (params()); empty for the asterisk form.
    boost::urls::url_view url;
};

/// Parses a request target; nullopt when it is none of those forms (a malformed target).
/// The result points into `target`.
std::optional<request_target> parse_request_target(std::string_view target);

}  // namespace wsgate
