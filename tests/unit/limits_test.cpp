#include <wsgate/auth/origin_policy.hpp>
#include <wsgate/limits/connection_limiter.hpp>
#include <wsgate/limits/proxy_trust.hpp>
#include <wsgate/limits/token_bucket.hpp>

#include <gtest/gtest.h>

using namespace wsgate;
using namespace std::chrono_literals;

namespace {
std::vector<address_range> ranges(std::initializer_list<const char*> texts) {
    std::vector<address_range> out;
    for (const char* t : texts) out.push_back(parse_address_range(t).value());
    return out;
}
}  // namespace

TEST(token_bucket, allows_the_burst_then_the_rate) {
    const auto t0 = token_bucket::clock::now();
    token_bucket bucket(10, 3, t0);
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.try_take(t0));
    EXPECT_EQ(bucket.wait_time(t0), 100ms);
    EXPECT_FALSE(bucket.try_take(t0 + 50ms));
    EXPECT_TRUE(bucket.try_take(t0 + 100ms));
    EXPECT_FALSE(bucket.try_take(t0 + 100ms));
    // Idle time refills to the burst, not beyond.
    const auto later = t0 + 10s;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.try_take(later));
    EXPECT_FALSE(bucket.try_take(later));
}

TEST(token_bucket, a_large_take_needs_one_token_and_leaves_a_debt) {
    const auto t0 = token_bucket::clock::now();
    token_bucket bucket(100, 10, t0);
    EXPECT_TRUE(bucket.try_take(t0, 50));  // 10 - 50 = -40
    EXPECT_FALSE(bucket.try_take(t0 + 400ms));
    EXPECT_EQ(bucket.wait_time(t0 + 400ms), 10ms);
    EXPECT_TRUE(bucket.try_take(t0 + 410ms));
}

TEST(token_bucket, available_counts_tokens_and_debt) {
    const auto t0 = token_bucket::clock::now();
    token_bucket bucket(100, 10, t0);
    EXPECT_DOUBLE_EQ(bucket.available(t0), 10);
    EXPECT_TRUE(bucket.try_take(t0, 30));
    EXPECT_DOUBLE_EQ(bucket.available(t0), -20);
    EXPECT_NEAR(bucket.available(t0 + 250ms), 5, 1e-9);
    EXPECT_DOUBLE_EQ(bucket.available(t0 + 10s), 10);  // never beyond the burst
}

TEST(connection_limiter, limits_in_total_and_per_address) {
    connection_limiter limiter(3, 2);
    using v = connection_limiter::verdict;
    EXPECT_EQ(limiter.try_open("a"), v::ok);
    EXPECT_EQ(limiter.try_open("a"), v::ok);
    EXPECT_EQ(limiter.try_open("a"), v::address_reached);
    EXPECT_EQ(limiter.try_open("b"), v::ok);
    EXPECT_EQ(limiter.try_open("c"), v::total_reached);
    EXPECT_EQ(limiter.total(), 3u);
    limiter.close("a");
    EXPECT_EQ(limiter.from("a"), 1u);
    EXPECT_EQ(limiter.try_open("c"), v::ok);
    EXPECT_EQ(limiter.from("c"), 1u);
}

TEST(connection_limiter, a_slot_gives_its_count_back_once) {
    connection_limiter limiter(0, 1);
    ASSERT_EQ(limiter.try_open("a"), connection_limiter::verdict::ok);
    {
        connection_slot slot(limiter, "a");
        connection_slot moved = std::move(slot);
        EXPECT_EQ(limiter.from("a"), 1u);
    }
    EXPECT_EQ(limiter.from("a"), 0u);
    EXPECT_EQ(limiter.total(), 0u);
}

TEST(proxy_trust, ranges_parse_for_both_families) {
    EXPECT_TRUE(parse_address_range("10.0.0.0/8"));
    EXPECT_TRUE(parse_address_range("127.0.0.1"));
    EXPECT_TRUE(parse_address_range("::1"));
    EXPECT_TRUE(parse_address_range("fd00::/8"));
    EXPECT_FALSE(parse_address_range("10.0.0.0/33"));
    EXPECT_FALSE(parse_address_range("10.0.0.0/"));
    EXPECT_FALSE(parse_address_range("10.0.0.0/x"));
    EXPECT_FALSE(parse_address_range("example.com"));
    EXPECT_FALSE(parse_address_range(""));
}

TEST(proxy_trust, only_trusted_peers_may_name_the_client) {
    proxy_trust trust(ranges({"10.0.0.0/8", "::1"}));
    EXPECT_TRUE(trust.trusted("10.1.2.3"));
    EXPECT_FALSE(trust.trusted("11.0.0.1"));
    EXPECT_TRUE(trust.trusted("::1"));
    // An untrusted peer's header is ignored.
    EXPECT_EQ(trust.client_address("203.0.113.5", "1.2.3.4"), "203.0.113.5");
    // A trusted proxy: the right-most address that is not a proxy. A forged left part is ignored.
    EXPECT_EQ(trust.client_address("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.9"),
              "198.51.100.7");
    EXPECT_EQ(trust.client_address("::1", "198.51.100.7"), "198.51.100.7");
    // No header: the proxy itself. Only proxies listed: the left-most.
    EXPECT_EQ(trust.client_address("10.0.0.1", ""), "10.0.0.1");
    EXPECT_EQ(trust.client_address("10.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
    // Garbage ends the walk at the last good hop.
    EXPECT_EQ(trust.client_address("10.0.0.1", "1.1.1.1, junk, 10.0.0.2"), "10.0.0.2");
}

TEST(proxy_trust, every_forwarded_for_line_counts_and_the_last_is_walked_first) {
    // HAProxy's option forwardfor appends a line of its own after the client's: the client
    // (127.0.0.2 here, seen by the trusted 127.0.0.1) cannot pick its address with the first.
    proxy_trust trust(ranges({"127.0.0.1", "10.0.0.0/8"}));
    using lines = std::vector<std::string_view>;
    EXPECT_EQ(trust.client_address("127.0.0.1", lines{"198.51.100.1", "127.0.0.2"}), "127.0.0.2");
    EXPECT_EQ(trust.client_address("127.0.0.1", lines{"198.51.100.1, 10.1.1.1", "127.0.0.2"}),
              "127.0.0.2");
    // Trusted hops are skipped across lines, right to left.
    EXPECT_EQ(trust.client_address("127.0.0.1", lines{"6.6.6.6, 203.0.113.9", "10.0.0.5",
                                                      "10.0.0.4, 10.0.0.3"}),
              "203.0.113.9");
    // Every address trusted: the left-most. No line at all: the peer.
    EXPECT_EQ(trust.client_address("127.0.0.1", lines{"10.0.0.9", "10.0.0.8"}), "10.0.0.9");
    EXPECT_EQ(trust.client_address("127.0.0.1", lines{}), "127.0.0.1");
    // An untrusted peer's lines are all ignored.
    EXPECT_EQ(trust.client_address("203.0.113.1", lines{"1.2.3.4", "5.6.7.8"}), "203.0.113.1");
    // IPv6 entries.
    proxy_trust v6(ranges({"::1"}));
    EXPECT_EQ(v6.client_address("::1", lines{"2001:db8::1", "2001:db8::7"}), "2001:db8::7");
}

TEST(proxy_trust, an_entry_that_is_no_address_ends_the_walk_at_the_hop_that_wrote_it) {
    proxy_trust trust(ranges({"10.0.0.0/8"}));
    using lines = std::vector<std::string_view>;
    // Right-most entry malformed: the peer itself wrote it.
    for (const char* bad : {"unknown", "", "198.51.100.7:4711", "[2001:db8::1]", "x, "})
        EXPECT_EQ(trust.client_address("10.0.0.1", lines{bad}), "10.0.0.1") << bad;
    // Behind a trusted hop: that hop.
    EXPECT_EQ(trust.client_address("10.0.0.1", lines{"198.51.100.7, unknown", "10.0.0.2"}),
              "10.0.0.2");
    // Only what lies left of the first untrusted address may be malformed, and is never read.
    EXPECT_EQ(trust.client_address("10.0.0.1", lines{"junk", "198.51.100.7"}), "198.51.100.7");
}

TEST(origin_policy, exact_and_wildcard_origins) {
    auth::origin_policy open;
    EXPECT_TRUE(open.allows("https://evil.example"));
    auth::origin_policy policy({"https://App.example.com", "https://*.example.org"});
    EXPECT_TRUE(policy.allows("https://app.example.com"));
    EXPECT_TRUE(policy.allows("HTTPS://APP.EXAMPLE.COM"));
    EXPECT_FALSE(policy.allows("http://app.example.com"));
    EXPECT_FALSE(policy.allows("https://app.example.com:8443"));
    EXPECT_FALSE(policy.allows("https://app.example.com.evil.net"));
    EXPECT_TRUE(policy.allows("https://a.example.org"));
    EXPECT_TRUE(policy.allows("https://a.b.example.org"));
    EXPECT_FALSE(policy.allows("https://example.org"));
    EXPECT_FALSE(policy.allows("https://evilexample.org"));
    EXPECT_FALSE(policy.allows("https://user@x.example.org"));
    EXPECT_FALSE(policy.allows("null"));
    EXPECT_TRUE(auth::origin_policy({"*"}).allows("null"));
}

TEST(origin_policy, entries_are_validated) {
    EXPECT_TRUE(auth::valid_origin_entry("*"));
    EXPECT_TRUE(auth::valid_origin_entry("https://a.example.com:8443"));
    EXPECT_TRUE(auth::valid_origin_entry("https://*.example.com"));
    EXPECT_FALSE(auth::valid_origin_entry("a.example.com"));
    EXPECT_FALSE(auth::valid_origin_entry("https://"));
    EXPECT_FALSE(auth::valid_origin_entry("https://a.example.com/path"));
}
