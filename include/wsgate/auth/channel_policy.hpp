#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wsgate/history/stream.hpp>

namespace wsgate::auth {

/// Who may subscribe to, or publish on, the channels a rule matches.
enum class access {
    anyone,  ///< every client, anonymous ones too
    users,   ///< authenticated clients (non-empty user id)
    owner,   ///< the client whose user id is what the pattern's {sub} matched
    claim,   ///< clients whose token grants the channel (one of its channel claims matches)
    nobody,  ///< no client
};

/// One rule of a channel policy (docs/security.md).
///
/// Pattern syntax: literal characters; `*` matches any run of characters, none included, and
/// crosses every separator (`chat:*` matches `chat:a:b`); `{sub}` stands for a user id and may
/// appear at most once. When the policy looks for the rule that decides, `{sub}` matches like
/// `*`, so a channel shaped like another user's (`user:bob` for `user:{sub}`) is decided by that
/// rule (and refused by `owner`) rather than falling through to a later, looser rule. `owner`
/// then requires the channel to match with `{sub}` replaced by the client's own user id.
struct channel_rule {
    std::string pattern;
    access subscribe = access::anyone;
    access publish = access::nobody;
    bool check = false;  ///< allowed subscriptions are also put to the subscribe-check webhook
    /// How much history the channels keep (docs/history.md); whoever may subscribe may read it.
    history::policy history{};
};

/// Who a client is, as the policy needs it.
struct client_identity {
    std::string user;                         ///< empty: anonymous
    std::vector<std::string> channel_claims;  ///< patterns from the token; `*` only, as in rules
};

enum class action { subscribe, publish };

struct decision {
    bool allowed = false;
    bool needs_check = false;  ///< allowed, but only if the subscribe-check webhook agrees too
    std::string reason;        ///< denied: for the client's `forbidden` error; empty when allowed
    std::optional<std::size_t> rule;  ///< index of the rule that decided; none if none matched
};

/// An ordered list of channel rules: the first rule whose pattern matches the channel decides;
/// a channel no rule matches is refused. I/O-free; matching is O(pattern × channel) at worst.
class channel_policy {
public:
    /// Throws std::invalid_argument naming the rule's index on a bad rule: empty pattern,
    /// `{sub}` twice, an unknown or unterminated placeholder, a stray `}`, or `owner` access
    /// in a rule whose pattern has no `{sub}`. An empty list refuses every channel.
    explicit channel_policy(std::vector<channel_rule> rules);

    decision decide(action what, std::string_view channel, const client_identity& who) const;
    /// The history policy of the rule that decides `channel` (off when no rule matches).
    history::policy history_of(std::string_view channel) const;

    const std::vector<channel_rule>& rules() const { return rules_; }

private:
    /// A rule's pattern, parsed: literal text, `*` and `{sub}`, in order.
    struct piece {
        enum class kind { literal, star, sub } what;
        std::string text;  ///< literal only
    };
    struct compiled {
        std::vector<piece> pieces;
        bool has_sub = false;
        /// The literal runs between wildcards, {sub} counted as `*`: what selects the rule.
        std::vector<std::string> selection;
    };

    std::vector<channel_rule> rules_;
    std::vector<compiled> compiled_;
};

/// The policy used when none is configured: `{"*", anyone, nobody, false}` — anyone may
/// subscribe to any channel, clients may not publish.
channel_policy default_channel_policy();

/// "anyone", "users", "owner", "claim" or "nobody"; throws std::invalid_argument listing them.
access parse_access(std::string_view name);
const char* to_string(access a);

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included)
/// and every other character only itself. O(pattern × text) at worst, no backtracking blow-up.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace wsgate::auth
