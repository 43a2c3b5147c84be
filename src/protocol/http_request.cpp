#include <wsgate/protocol/http_request.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>

namespace wsgate {

namespace http = boost::beast::http;

namespace {

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool list_contains(const http::fields& fields, http::field name, std::string_view element) {
    auto [it, end] = fields.equal_range(name);
    for (; it != end; ++it) {
        std::string_view rest(it->value().data(), it->value().size());
        for (;;) {
            const auto comma = rest.find(',');
            const std::string_view item = trim_ows(rest.substr(0, comma));
            if (!item.empty() && boost::beast::iequals(item, element)) return true;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return false;
}

bool keeps_alive(const http::fields& fields, unsigned version) {
    if (version >= 11) return !list_contains(fields, http::field::connection, "close");
    return list_contains(fields, http::field::connection, "keep-alive");
}

std::optional<request_target> parse_request_target(std::string_view target) {
    if (target == "*") return request_target{target, {}};
    // Origin form starts with "/"; anything else must be an absolute URI ("http://host/ws").
    auto url = !target.empty() && target.front() == '/' ? boost::urls::parse_origin_form(target)
                                                        : boost::urls::parse_absolute_uri(target);
    if (!url) return std::nullopt;
    std::string_view path(url->encoded_path().data(), url->encoded_path().size());
    if (path.empty()) path = "/";  // "http://host" and "http://host?x" ask for "/"
    return request_target{path, *url};
}

}  // namespace wsgate
