#include <wsgate/auth/origin_policy.hpp>

#include <algorithm>
#include <cctype>

namespace wsgate::auth {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool matches(std::string_view entry, std::string_view origin) {
    if (entry == "*") return true;
    const auto scheme_end = entry.find("://");
    if (scheme_end == std::string_view::npos) return false;
    const auto scheme = entry.substr(0, scheme_end + 3);
    const auto host = entry.substr(scheme_end + 3);
    if (host.rfind("*.", 0) != 0) return entry == origin;
    // "https://*.example.com" matches "https://a.example.com" and "https://a.b.example.com".
    if (origin.rfind(scheme, 0) != 0) return false;
    const auto rest = origin.substr(scheme.size());
    const auto suffix = host.substr(1);  // ".example.com[:port]"
    return rest.size() > suffix.size() && ends_with(rest, suffix) &&
           rest.substr(0, rest.size() - suffix.size()).find_first_of("/:@") ==
               std::string_view::npos;
}

}  // namespace

origin_policy::origin_policy(std::vector<std::string> allowed) {
    for (const auto& entry : allowed) allowed_.push_back(lower(entry));
}

bool origin_policy::allows(std::string_view origin) const {
    if (allowed_.empty()) return true;
    const auto wanted = lower(origin);
    return std::any_of(allowed_.begin(), allowed_.end(),
                       [&](const std::string& entry) { return matches(entry, wanted); });
}

bool valid_origin_entry(std::string_view entry) {
    if (entry == "*") return true;
    const auto scheme_end = entry.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0 || entry.size() > 256)
        return false;
    auto host = entry.substr(scheme_end + 3);
    if (host.rfind("*.", 0) == 0) host.remove_prefix(2);
    if (host.empty()) return false;
    return std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
               c == '[' || c == ']';
    });
}

}  // namespace wsgate::auth
