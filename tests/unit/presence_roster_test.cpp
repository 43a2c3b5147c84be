// The presence roster: members and counts per channel, and the join/leave rule (a second tab
// is no join, a quick reconnect is neither leave nor join, anonymous connections never join).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <wsgate/presence/roster.hpp>

namespace wsgate::presence {
namespace {

using namespace std::chrono_literals;
using time_point = roster::time_point;

member conn(const std::string& id, const std::string& user, const std::string& info = "null") {
    return member{id, user, 1700000000000, info};
}

std::vector<std::string> connections(const roster& r, const std::string& channel) {
    std::vector<std::string> out;
    for (const auto& m : r.members(channel)) out.push_back(m.connection);
    std::sort(out.begin(), out.end());
    return out;
}

TEST(presence_roster, a_users_first_connection_joins_and_a_second_tab_does_not) {
    roster r(2s);
    const auto join = r.add("room:1", conn("c1", "alice", R"({"name":"Alice"})"));
    ASSERT_TRUE(join.has_value());
    EXPECT_EQ(join->what, change::kind::join);
    EXPECT_EQ(join->channel, "room:1");
    EXPECT_EQ(join->who.user, "alice");
    EXPECT_EQ(join->who.info, R"({"name":"Alice"})");
    EXPECT_FALSE(r.add("room:1", conn("c2", "alice")).has_value()) << "a second tab";
    EXPECT_TRUE(r.add("room:1", conn("c3", "bob")).has_value());
    EXPECT_TRUE(r.add("room:2", conn("c1", "alice")).has_value()) << "another channel";
    EXPECT_EQ(connections(r, "room:1"), (std::vector<std::string>{"c1", "c2", "c3"}));
    EXPECT_EQ(r.stats_of("room:1").connections, 3u);
    EXPECT_EQ(r.stats_of("room:1").users, 2u);
    EXPECT_EQ(r.size(), 4u);
    EXPECT_TRUE(r.members("nowhere").empty());
    EXPECT_EQ(r.stats_of("nowhere").connections, 0u);
}

TEST(presence_roster, the_last_connection_leaves_after_the_grace_and_once) {
    roster r(2s);
    const time_point t0{};
    r.add("room:1", conn("c1", "alice"));
    r.add("room:1", conn("c2", "alice"));
    EXPECT_TRUE(r.remove("room:1", "c1", t0));
    EXPECT_FALSE(r.next_due().has_value()) << "alice still has a tab there";
    EXPECT_TRUE(r.remove("room:1", "c2", t0 + 1s));
    EXPECT_EQ(r.stats_of("room:1").users, 0u) << "gone from the members at once";
    EXPECT_EQ(r.next_due(), t0 + 3s);
    EXPECT_TRUE(r.due(t0 + 2999ms).empty());
    const auto leaves = r.due(t0 + 3s);
    ASSERT_EQ(leaves.size(), 1u);
    EXPECT_EQ(leaves[0].what, change::kind::leave);
    EXPECT_EQ(leaves[0].who.connection, "c2") << "the last one that left";
    EXPECT_TRUE(r.due(t0 + 10s).empty()) << "each leave once";
    EXPECT_FALSE(r.remove("room:1", "c2", t0 + 10s)) << "not a member any more";
    EXPECT_EQ(r.size(), 0u);
}

TEST(presence_roster, a_quick_reconnect_is_neither_a_leave_nor_a_join) {
    roster r(2s);
    const time_point t0{};
    r.add("room:1", conn("c1", "alice"));
    r.remove("room:1", "c1", t0);
    EXPECT_FALSE(r.add("room:1", conn("c9", "alice")).has_value()) << "back within the grace";
    EXPECT_TRUE(r.due(t0 + 1h).empty());
    // Leaving again later starts a new grace; only that one ends in a leave.
    r.remove("room:1", "c9", t0 + 1s);
    EXPECT_TRUE(r.due(t0 + 2500ms).empty()) << "the first, cancelled leave does not fire";
    ASSERT_EQ(r.due(t0 + 3s).size(), 1u);
    // Back after the grace: a join again.
    EXPECT_TRUE(r.add("room:1", conn("c10", "alice")).has_value());
}

TEST(presence_roster, anonymous_connections_are_members_that_never_join_or_leave) {
    roster r(0ms);
    const time_point t0{};
    EXPECT_FALSE(r.add("room:1", conn("a1", "")).has_value());
    EXPECT_FALSE(r.add("room:1", conn("a2", "")).has_value());
    EXPECT_EQ(r.stats_of("room:1").connections, 2u);
    EXPECT_EQ(r.stats_of("room:1").users, 0u);
    r.remove("room:1", "a1", t0);
    r.remove("room:1", "a2", t0);
    EXPECT_TRUE(r.due(t0 + 1s).empty());
    EXPECT_EQ(r.size(), 0u);
}

TEST(presence_roster, leaves_come_in_the_order_they_fall_due) {
    roster r(1s);
    const time_point t0{};
    for (const char* user : {"u1", "u2", "u3"}) r.add("room:1", conn(std::string("c-") + user, user));
    r.remove("room:1", "c-u2", t0);
    r.remove("room:1", "c-u3", t0 + 10ms);
    r.remove("room:1", "c-u1", t0 + 20ms);
    const auto leaves = r.due(t0 + 2s);
    ASSERT_EQ(leaves.size(), 3u);
    EXPECT_EQ(leaves[0].who.user, "u2");
    EXPECT_EQ(leaves[1].who.user, "u3");
    EXPECT_EQ(leaves[2].who.user, "u1");
}

TEST(presence_roster, subscribing_again_updates_the_member_without_a_join) {
    roster r(1s);
    r.add("room:1", conn("c1", "alice", R"({"name":"A"})"));
    EXPECT_FALSE(r.add("room:1", conn("c1", "alice", R"({"name":"Alice"})")).has_value());
    const auto members = r.members("room:1");
    ASSERT_EQ(members.size(), 1u);
    EXPECT_EQ(members[0].info, R"({"name":"Alice"})");
    EXPECT_EQ(r.stats_of("room:1").users, 1u);
    EXPECT_EQ(r.size(), 1u);
}

}  // namespace
}  // namespace wsgate::presence
