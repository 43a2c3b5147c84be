#include <wsgate/auth/channel_policy.hpp>

#include <algorithm>
#include <stdexcept>

namespace wsgate::auth {

namespace {

/// Whether `text` matches segments s0 * s1 * ... * sk (k + 1 segments; one segment: no `*`).
/// The first segment must be a prefix, the last a suffix, and the ones between are found in
/// order, each at its leftmost place after the previous one. For patterns whose only wildcard
/// is `*` the leftmost choice is always a right one, so this never backtracks: at worst
/// O(|pattern| × |text|) character comparisons.
template <typename Segments>
bool match_segments(const Segments& segs, std::string_view text) {
    if (segs.size() == 1) return text == std::string_view(segs.front());
    const std::string_view head = segs.front();
    const std::string_view tail = segs.back();
    if (text.size() < head.size() + tail.size()) return false;
    if (text.substr(0, head.size()) != head) return false;
    if (text.substr(text.size() - tail.size()) != tail) return false;
    const std::string_view middle = text.substr(head.size(), text.size() - head.size() - tail.size());
    std::size_t at = 0;
    for (std::size_t i = 1; i + 1 < segs.size(); ++i) {
        const std::string_view seg = segs[i];
        if (seg.empty()) continue;
        const auto found = middle.find(seg, at);
        if (found == std::string_view::npos) return false;
        at = found + seg.size();
    }
    return true;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string verb(action what) {
    return what == action::subscribe ? "subscribe to" : "publish to";
}

std::string refusal(access a, action what, std::string_view channel) {
    const std::string tail = verb(what) + " channel " + quoted(channel);
    switch (a) {
        case access::users: return "only authenticated users may " + tail;
        case access::owner: return "only its owner may " + tail;
        case access::claim: return "only clients whose token grants it may " + tail;
        case access::nobody: return "clients may not " + tail;
        case access::anyone: break;
    }
    return {};
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    std::vector<std::string_view> segs;
    for (;;) {
        const auto star = pattern.find('*');
        segs.push_back(pattern.substr(0, star));
        if (star == std::string_view::npos) break;
        pattern.remove_prefix(star + 1);
    }
    return match_segments(segs, text);
}

channel_policy::channel_policy(std::vector<channel_rule> rules) : rules_(std::move(rules)) {
    compiled_.reserve(rules_.size());
    for (std::size_t index = 0; index < rules_.size(); ++index) {
        const auto& rule = rules_[index];
        const std::string_view p = rule.pattern;
        auto bad = [&](const std::string& why) {
            return std::invalid_argument("channel rule " + std::to_string(index) + " (" +
                                         quoted(p) + "): " + why);
        };
        if (p.empty()) throw bad("the pattern is empty");
        compiled c;
        for (std::size_t i = 0; i < p.size(); ++i) {
            const char ch = p[i];
            if (ch == '*') {
                if (c.pieces.empty() || c.pieces.back().what != piece::kind::star)
                    c.pieces.push_back({piece::kind::star, {}});
            } else if (ch == '{') {
                const auto close = p.find('}', i);
                if (close == std::string_view::npos) throw bad("'{' without a closing '}'");
                const auto name = p.substr(i, close - i + 1);
                if (name != "{sub}")
                    throw bad("unknown placeholder " + quoted(name) + " (only {sub} is known)");
                if (c.has_sub) throw bad("{sub} may appear only once");
                c.has_sub = true;
                c.pieces.push_back({piece::kind::sub, {}});
                i = close;
            } else if (ch == '}') {
                throw bad("'}' without an opening '{'");
            } else {
                if (c.pieces.empty() || c.pieces.back().what != piece::kind::literal)
                    c.pieces.push_back({piece::kind::literal, {}});
                c.pieces.back().text += ch;
            }
        }
        if (!c.has_sub && (rule.subscribe == access::owner || rule.publish == access::owner))
            throw bad("access 'owner' needs {sub} in the pattern");
        // {sub} selects like `*`: someone else's channel is decided by this rule, not a later one.
        c.selection.emplace_back();
        for (const auto& pc : c.pieces) {
            if (pc.what == piece::kind::literal)
                c.selection.back() += pc.text;
            else
                c.selection.emplace_back();
        }
        compiled_.push_back(std::move(c));
    }
}

history::policy channel_policy::history_of(std::string_view channel) const {
    for (std::size_t i = 0; i < rules_.size(); ++i)
        if (match_segments(compiled_[i].selection, channel)) return rules_[i].history;
    return {};
}

decision channel_policy::decide(action what, std::string_view channel,
                                const client_identity& who) const {
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const auto& c = compiled_[i];
        if (!match_segments(c.selection, channel)) continue;
        const auto& rule = rules_[i];
        const access a = what == action::subscribe ? rule.subscribe : rule.publish;
        bool allowed = false;
        switch (a) {
            case access::anyone: allowed = true; break;
            case access::users: allowed = !who.user.empty(); break;
            case access::owner:
                if (!who.user.empty()) {
                    // The same pattern with {sub} spelled as this user's id, taken literally.
                    std::vector<std::string> own(1);
                    for (const auto& pc : c.pieces) {
                        if (pc.what == piece::kind::star)
                            own.emplace_back();
                        else
                            own.back() += pc.what == piece::kind::sub ? who.user : pc.text;
                    }
                    allowed = match_segments(own, channel);
                }
                break;
            case access::claim:
                allowed = std::any_of(who.channel_claims.begin(), who.channel_claims.end(),
                                      [&](const std::string& g) { return glob_match(g, channel); });
                break;
            case access::nobody: break;
        }
        decision d;
        d.allowed = allowed;
        d.needs_check = allowed && rule.check && what == action::subscribe;
        if (!allowed) d.reason = refusal(a, what, channel);
        d.rule = i;
        return d;
    }
    decision d;
    d.reason = "no rule allows channel " + quoted(channel);
    return d;
}

channel_policy default_channel_policy() {
    return channel_policy({channel_rule{"*", access::anyone, access::nobody, false}});
}

access parse_access(std::string_view name) {
    for (access a : {access::anyone, access::users, access::owner, access::claim, access::nobody})
        if (name == to_string(a)) return a;
    throw std::invalid_argument("unknown access " + quoted(name) +
                                " (expected anyone, users, owner, claim or nobody)");
}

const char* to_string(access a) {
    switch (a) {
        case access::anyone: return "anyone";
        case access::users: return "users";
        case access::owner: return "owner";
        case access::claim: return "claim";
        case access::nobody: return "nobody";
    }
    return "?";
}

}  // namespace wsgate::auth
