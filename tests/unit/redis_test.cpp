#include <wsgate/redis/redis_address.hpp>
#include <wsgate/redis/subscription_tracker.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using namespace wsgate;

TEST(redis_address, parses_host_port_password_and_db) {
    auto a = parse_redis_url("redis://:s%40cret@cache.internal:6380/3");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "cache.internal");
    EXPECT_EQ(a->port, 6380);
    EXPECT_EQ(a->password, "s@cret");
    EXPECT_TRUE(a->username.empty());
    EXPECT_EQ(a->db, 3u);
}

TEST(redis_address, defaults_to_port_6379_db_0_and_no_auth) {
    auto a = parse_redis_url("redis://127.0.0.1");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->port, 6379);
    EXPECT_EQ(a->db, 0u);
    EXPECT_TRUE(a->password.empty());
}

TEST(redis_address, takes_an_acl_user) {
    auto a = parse_redis_url("redis://gw:pw@h:1");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->username, "gw");
    EXPECT_EQ(a->password, "pw");
}

TEST(redis_address, refuses_malformed_urls) {
    for (const char* url : {"", "http://h:1", "redis://", "redis://:6379", "redis://h:0",
                            "redis://h:65536", "redis://h:x", "redis://h/16", "redis://h/",
                            "redis://pw@h", "redis://:@h", "redis://:%zz@h", "redis://h h",
                            "redis://:p%4@h"})
        EXPECT_FALSE(parse_redis_url(url).has_value()) << url;
}

TEST(redis_address, takes_an_ipv6_literal_in_brackets) {
    auto a = parse_redis_url("redis://:pw@[::1]:6380/2");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(a->port, 6380);
    EXPECT_EQ(a->password, "pw");
    EXPECT_EQ(a->db, 2u);
    a = parse_redis_url("redis://[2001:db8::7]");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "2001:db8::7");
    EXPECT_EQ(a->port, 6379);
    for (const char* url : {"redis://::1", "redis://::1:6379", "redis://[::1", "redis://[::1]:",
                            "redis://[::1]x", "redis://[zz::1]:6379", "redis://[]:6379",
                            "redis://[10.0.0.1]:6379", "redis://[::1]:0"})
        EXPECT_FALSE(parse_redis_url(url).has_value()) << url;
}

namespace {
std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}
}  // namespace

TEST(subscription_tracker, batches_changes_and_cancels_what_came_and_went) {
    subscription_tracker t;
    t.want("a");
    t.want("b");
    t.want("c");
    t.drop("c");  // came and went before the batch: no command at all
    auto b = t.take_batch();
    EXPECT_EQ(sorted(b.subscribe), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(b.unsubscribe.empty());
    EXPECT_TRUE(t.take_batch().empty());
    t.drop("a");
    t.want("d");
    b = t.take_batch();
    EXPECT_EQ(b.subscribe, std::vector<std::string>{"d"});
    EXPECT_EQ(b.unsubscribe, std::vector<std::string>{"a"});
}

TEST(subscription_tracker, is_in_force_only_when_every_wanted_channel_is_confirmed) {
    subscription_tracker t;
    EXPECT_TRUE(t.in_force());
    t.want("a");
    t.want("b");
    EXPECT_FALSE(t.in_force());
    t.take_batch();
    t.confirmed("a", true);
    EXPECT_FALSE(t.in_force());
    t.confirmed("b", true);
    EXPECT_TRUE(t.in_force());
    t.want("c");
    EXPECT_FALSE(t.in_force()) << "a change not yet sent";
}

TEST(subscription_tracker, reset_asks_for_everything_still_wanted) {
    subscription_tracker t;
    t.want("a");
    t.want("b");
    t.take_batch();
    t.confirmed("a", true);
    t.confirmed("b", true);
    t.drop("b");
    t.take_batch();
    t.reset();  // the subscriber connection was lost
    EXPECT_FALSE(t.in_force());
    auto b = t.take_batch();
    EXPECT_EQ(b.subscribe, std::vector<std::string>{"a"});
    EXPECT_TRUE(b.unsubscribe.empty()) << "a new connection has nothing to unsubscribe";
    t.confirmed("a", true);
    EXPECT_TRUE(t.in_force());
}

TEST(subscription_tracker, resubscribing_100000_channels_costs_linear_time) {
    // After a reconnect every wanted channel is confirmed one by one, and the bus asks
    // in_force() (and ready()) after each confirmation. With n = 100,000 channels a walk over
    // every channel per question costs n^2/2 = 5e9 look-ups; a count makes it O(1) per question,
    // about 5 look-ups per channel in all (the batch, the confirmation).
    constexpr std::size_t n = 100000;
    subscription_tracker t;
    for (std::size_t i = 0; i < n; ++i) t.want("ch:" + std::to_string(i));
    t.take_batch();
    for (std::size_t i = 0; i < n; ++i) t.confirmed("ch:" + std::to_string(i), true);
    ASSERT_TRUE(t.in_force());
    t.reset();  // the subscriber connection came back
    const auto lookups_before = t.lookups();
    const auto batch = t.take_batch();
    ASSERT_EQ(batch.subscribe.size(), n);
    const std::uint64_t bound = 8 * n;  // the quadratic walk passes it within 1,300 channels
    std::size_t became_in_force = 0;
    for (const auto& channel : batch.subscribe) {
        const bool was = t.in_force();  // what redis_bus::on_subscription asks, and ready()
        t.confirmed(channel, true);
        const bool now = t.in_force();
        EXPECT_FALSE(was);
        if (now) ++became_in_force;  // only at the last confirmation
        if (t.lookups() - lookups_before > bound) break;  // fail fast, not in minutes
    }
    EXPECT_LE(t.lookups() - lookups_before, bound);
    EXPECT_TRUE(t.in_force());
    EXPECT_EQ(became_in_force, 1u);
}

TEST(subscription_tracker, in_force_follows_drops_and_unsubscriptions) {
    subscription_tracker t;
    t.want("a");
    t.want("b");
    t.take_batch();
    t.confirmed("a", true);
    t.confirmed("a", true);  // a repeated confirmation counts once
    EXPECT_FALSE(t.in_force());
    t.drop("b");  // no longer needed: nothing is missing once the batch is sent
    EXPECT_FALSE(t.in_force()) << "the UNSUBSCRIBE is not sent yet";
    t.take_batch();
    EXPECT_TRUE(t.in_force());
    t.confirmed("b", false);
    EXPECT_TRUE(t.in_force());
    t.confirmed("a", false);  // Redis says a is gone although it is still wanted
    EXPECT_FALSE(t.in_force());
    t.confirmed("z", true);  // a confirmation of something never wanted changes nothing
    EXPECT_FALSE(t.in_force());
    t.confirmed("a", true);
    EXPECT_TRUE(t.in_force());
    t.want("z");  // wanted, and already confirmed (an UNSUBSCRIBE still on its way back)
    t.take_batch();
    EXPECT_TRUE(t.in_force());
}

// The last client leaves a channel and a new one comes before Redis confirmed the UNSUBSCRIBE:
// the channel is not subscribed until the new SUBSCRIBE is confirmed (what is published between
// the two is not delivered), so it must not count as in force before that.
TEST(subscription_tracker, a_channel_wanted_again_while_unsubscribing_waits_for_its_subscribe) {
    subscription_tracker t;
    t.want("a");
    t.take_batch();
    t.confirmed("a", true);
    ASSERT_TRUE(t.is_confirmed("a"));
    t.drop("a");
    EXPECT_EQ(t.take_batch().unsubscribe, std::vector<std::string>{"a"});
    t.want("a");
    EXPECT_FALSE(t.is_confirmed("a")) << "the UNSUBSCRIBE is on its way";
    EXPECT_EQ(t.take_batch().subscribe, std::vector<std::string>{"a"});
    EXPECT_FALSE(t.in_force());
    t.confirmed("a", false);  // the UNSUBSCRIBE's answer
    EXPECT_FALSE(t.is_confirmed("a"));
    t.confirmed("a", true);  // the new SUBSCRIBE's
    EXPECT_TRUE(t.is_confirmed("a"));
    EXPECT_TRUE(t.in_force());
    // SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE before any answer: the first answer is not the last.
    subscription_tracker u;
    u.want("b");
    u.take_batch();
    u.drop("b");
    u.take_batch();
    u.want("b");
    u.take_batch();
    u.confirmed("b", true);
    EXPECT_FALSE(u.is_confirmed("b")) << "answers the first SUBSCRIBE, before the UNSUBSCRIBE";
    u.confirmed("b", false);
    EXPECT_FALSE(u.in_force());
    u.confirmed("b", true);
    EXPECT_TRUE(u.in_force());
}
