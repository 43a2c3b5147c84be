#include <wsgate/auth/channel_policy.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace wsgate::auth;
namespace auth = wsgate::auth;  // plain `access` would also name POSIX access()

namespace {

constexpr auto anyone = auth::access::anyone;
constexpr auto users = auth::access::users;
constexpr auto owner = auth::access::owner;
constexpr auto claim = auth::access::claim;
constexpr auto nobody = auth::access::nobody;

const client_identity anonymous{};
const client_identity alice{"alice", {}};
const client_identity bob{"bob", {}};

bool may_subscribe(const channel_policy& p, std::string_view channel, const client_identity& who) {
    return p.decide(action::subscribe, channel, who).allowed;
}

bool may_publish(const channel_policy& p, std::string_view channel, const client_identity& who) {
    return p.decide(action::publish, channel, who).allowed;
}

std::string invalid_rule_message(std::vector<channel_rule> rules) {
    try {
        channel_policy p(std::move(rules));
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST(glob_match, star_matches_any_run_including_none_and_separators) {
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("*", "a:b.c"));
    EXPECT_TRUE(glob_match("chat:*", "chat:"));
    EXPECT_TRUE(glob_match("chat:*", "chat:room:1"));
    EXPECT_FALSE(glob_match("chat:*", "chat"));
    EXPECT_TRUE(glob_match("*:news", "sport:news"));
    EXPECT_FALSE(glob_match("*:news", "sport:newsy"));
    EXPECT_TRUE(glob_match("a*b*c", "abc"));
    EXPECT_TRUE(glob_match("a*b*c", "axxbyybzc"));
    EXPECT_FALSE(glob_match("a*b*c", "axxcyyb"));
    EXPECT_TRUE(glob_match("a**c", "ac"));
    EXPECT_FALSE(glob_match("ab*ba", "aba")) << "prefix and suffix may not overlap";
    EXPECT_TRUE(glob_match("exact", "exact"));
    EXPECT_FALSE(glob_match("exact", "exactly"));
    EXPECT_FALSE(glob_match("", "x"));
}

TEST(glob_match, pathological_patterns_finish) {
    // With naive backtracking these take exponential time; here they are a few million steps.
    const std::string long_a(100000, 'a');
    EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", long_a));
    EXPECT_TRUE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*", long_a));
    std::string many_stars;
    for (int i = 0; i < 500; ++i) many_stars += "*a";
    EXPECT_FALSE(glob_match(many_stars + "b", long_a));
    EXPECT_TRUE(glob_match(many_stars, long_a));

    channel_policy p({{"x:*a*a*a*a*a*a*a*a*a*a*a*a*{sub}*b", owner, nobody}});
    const std::string channel = "x:" + long_a;
    EXPECT_FALSE(may_subscribe(p, channel, client_identity{"a", {}}));
    EXPECT_FALSE(may_subscribe(p, channel, client_identity{"", {many_stars + "b"}}));
}

TEST(channel_policy, the_first_matching_rule_decides) {
    channel_policy p({
        {"admin:*", nobody, nobody},
        {"admin:open", anyone, anyone},  // shadowed by the rule before it
        {"*", anyone, nobody},
    });
    auto d = p.decide(action::subscribe, "admin:open", alice);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, 0u);
    EXPECT_EQ(d.reason, "clients may not subscribe to channel 'admin:open'");
    d = p.decide(action::subscribe, "news", anonymous);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule, 2u);
    EXPECT_TRUE(d.reason.empty());
}

TEST(channel_policy, no_matching_rule_denies) {
    channel_policy p({{"public:*", anyone, anyone}});
    auto d = p.decide(action::subscribe, "private", alice);
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.needs_check);
    EXPECT_FALSE(d.rule.has_value());
    EXPECT_EQ(d.reason, "no rule allows channel 'private'");
    EXPECT_FALSE(may_publish(p, "private", alice));

    channel_policy empty({});
    EXPECT_FALSE(may_subscribe(empty, "anything", alice));
}

TEST(channel_policy, publish_is_off_unless_a_rule_turns_it_on) {
    channel_rule r;
    r.pattern = "chat:*";
    EXPECT_EQ(r.subscribe, anyone);
    EXPECT_EQ(r.publish, nobody);
    EXPECT_FALSE(r.check);
    channel_policy p({r});
    EXPECT_TRUE(may_subscribe(p, "chat:1", anonymous));
    auto d = p.decide(action::publish, "chat:1", alice);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "clients may not publish to channel 'chat:1'");
}

TEST(channel_policy, default_policy_lets_anyone_subscribe_and_nobody_publish) {
    auto p = default_channel_policy();
    ASSERT_EQ(p.rules().size(), 1u);
    EXPECT_EQ(p.rules()[0].pattern, "*");
    EXPECT_TRUE(may_subscribe(p, "anything:at.all", anonymous));
    EXPECT_TRUE(may_subscribe(p, "x", alice));
    EXPECT_FALSE(p.decide(action::subscribe, "x", alice).needs_check);
    EXPECT_FALSE(may_publish(p, "x", alice));
    EXPECT_FALSE(may_publish(p, "x", anonymous));
}

TEST(channel_policy, users_access_needs_an_authenticated_client) {
    channel_policy p({{"members:*", users, users}});
    EXPECT_TRUE(may_subscribe(p, "members:lobby", alice));
    EXPECT_TRUE(may_publish(p, "members:lobby", alice));
    auto d = p.decide(action::subscribe, "members:lobby", anonymous);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "only authenticated users may subscribe to channel 'members:lobby'");
    EXPECT_FALSE(may_publish(p, "members:lobby", anonymous));
}

TEST(channel_policy, owner_access_admits_only_the_user_named_by_sub) {
    channel_policy p({
        {"user:{sub}", owner, owner},
        {"*", anyone, nobody},
    });
    EXPECT_TRUE(may_subscribe(p, "user:alice", alice));
    EXPECT_TRUE(may_publish(p, "user:alice", alice));
    // Someone else's channel is decided by the owner rule, not by the looser "*" after it.
    auto d = p.decide(action::subscribe, "user:alice", bob);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, 0u);
    EXPECT_EQ(d.reason, "only its owner may subscribe to channel 'user:alice'");
    EXPECT_FALSE(may_subscribe(p, "user:alice", anonymous)) << "{sub} never matches anonymous";
    EXPECT_FALSE(may_subscribe(p, "user:alicex", alice));
    EXPECT_FALSE(may_subscribe(p, "user:", anonymous));
    EXPECT_TRUE(may_subscribe(p, "news", bob));
}

TEST(channel_policy, sub_works_anywhere_in_a_pattern_and_with_stars) {
    channel_policy p({
        {"inbox:{sub}:*", owner, nobody},
        {"*.{sub}", owner, owner},
        {"feed:{sub}", anyone, owner},  // anyone reads, the owner writes
    });
    EXPECT_TRUE(may_subscribe(p, "inbox:alice:2024", alice));
    EXPECT_TRUE(may_subscribe(p, "inbox:alice:", alice));
    EXPECT_FALSE(may_subscribe(p, "inbox:alice:2024", bob));
    EXPECT_FALSE(may_subscribe(p, "inbox:alicex:1", alice));
    EXPECT_TRUE(may_subscribe(p, "photos.shared.alice", alice));
    EXPECT_FALSE(may_subscribe(p, "photos.shared.alice", bob));
    EXPECT_TRUE(may_subscribe(p, "feed:alice", bob));
    EXPECT_FALSE(may_publish(p, "feed:alice", bob));
    EXPECT_TRUE(may_publish(p, "feed:alice", alice));
    EXPECT_FALSE(may_publish(p, "feed:alice", anonymous));
}

TEST(channel_policy, a_user_id_is_matched_literally_even_with_pattern_characters) {
    channel_policy p({{"user:{sub}", owner, nobody}});
    EXPECT_FALSE(may_subscribe(p, "user:alice", client_identity{"*", {}}));
    EXPECT_FALSE(may_subscribe(p, "user:alice", client_identity{"al*", {}}));
    EXPECT_TRUE(may_subscribe(p, "user:al*", client_identity{"al*", {}}));
}

TEST(channel_policy, claim_access_follows_the_tokens_channel_patterns) {
    channel_policy p({{"team:*", claim, claim}});
    const client_identity member{"carol", {"team:red", "team:blue:*"}};
    EXPECT_TRUE(may_subscribe(p, "team:red", member));
    EXPECT_FALSE(may_subscribe(p, "team:redder", member));
    EXPECT_TRUE(may_subscribe(p, "team:blue:general", member));
    EXPECT_TRUE(may_publish(p, "team:blue:x:y", member));
    EXPECT_FALSE(may_subscribe(p, "team:green", member));
    auto d = p.decide(action::subscribe, "team:green", alice);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "only clients whose token grants it may subscribe to channel 'team:green'");
    // Claims only ever widen a claim rule: they do not open channels other rules decide.
    const client_identity everything{"dave", {"*"}};
    EXPECT_TRUE(may_subscribe(p, "team:any", everything));
    EXPECT_FALSE(may_subscribe(p, "other", everything));
    // An anonymous client may carry claims (e.g. a guest token without a subject).
    EXPECT_TRUE(may_subscribe(p, "team:red", client_identity{"", {"team:r*"}}));
}

TEST(channel_policy, nobody_access_refuses_everyone) {
    channel_policy p({{"system:*", nobody, nobody}});
    const client_identity root{"root", {"*"}};
    EXPECT_FALSE(may_subscribe(p, "system:x", root));
    EXPECT_FALSE(may_publish(p, "system:x", root));
}

TEST(channel_policy, check_is_asked_only_for_allowed_subscriptions) {
    channel_policy p({
        {"room:*", users, users, /*check=*/true},
        {"*", anyone, nobody, false},
    });
    auto d = p.decide(action::subscribe, "room:1", alice);
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(d.needs_check);
    d = p.decide(action::subscribe, "room:1", anonymous);
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.needs_check) << "already refused: nothing to ask";
    d = p.decide(action::publish, "room:1", alice);
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.needs_check) << "the webhook is a subscribe check";
    EXPECT_FALSE(p.decide(action::subscribe, "lobby", alice).needs_check);
}

TEST(channel_policy, invalid_rules_are_refused_naming_the_rule) {
    const channel_rule ok{"ok:*", anyone, nobody};
    EXPECT_EQ(invalid_rule_message({ok, {"", anyone, nobody}}),
              "channel rule 1 (''): the pattern is empty");
    EXPECT_EQ(invalid_rule_message({ok, ok, {"a:{sub}:{sub}", owner, nobody}}),
              "channel rule 2 ('a:{sub}:{sub}'): {sub} may appear only once");
    EXPECT_EQ(invalid_rule_message({{"a:{user}", anyone, nobody}}),
              "channel rule 0 ('a:{user}'): unknown placeholder '{user}' (only {sub} is known)");
    EXPECT_EQ(invalid_rule_message({{"a:{sub", owner, nobody}}),
              "channel rule 0 ('a:{sub'): '{' without a closing '}'");
    EXPECT_EQ(invalid_rule_message({{"a:sub}", anyone, nobody}}),
              "channel rule 0 ('a:sub}'): '}' without an opening '{'");
    EXPECT_EQ(invalid_rule_message({{"a:*", owner, nobody}}),
              "channel rule 0 ('a:*'): access 'owner' needs {sub} in the pattern");
    EXPECT_EQ(invalid_rule_message({{"a:*", anyone, owner}}),
              "channel rule 0 ('a:*'): access 'owner' needs {sub} in the pattern");
    EXPECT_EQ(invalid_rule_message({{"a:{sub}", users, nobody}}), "(accepted)");
}

TEST(channel_policy, access_names_round_trip) {
    for (auth::access a : {anyone, users, owner, claim, nobody})
        EXPECT_EQ(parse_access(to_string(a)), a);
    try {
        parse_access("everyone");
        FAIL() << "accepted an unknown access name";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(),
                     "unknown access 'everyone' (expected anyone, users, owner, claim or nobody)");
    }
    EXPECT_THROW(parse_access("Anyone"), std::invalid_argument);
}
