#include <wsgate/support/host_port.hpp>

#include <gtest/gtest.h>

using namespace wsgate;

TEST(host_port, parses_names_ipv4_and_bracketed_ipv6_with_an_optional_port) {
    auto a = parse_host_port("cache.internal_1:6380");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "cache.internal_1");
    EXPECT_EQ(a->port, 6380);
    a = parse_host_port("10.0.0.7");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "10.0.0.7");
    EXPECT_FALSE(a->port);
    a = parse_host_port("[2001:db8::1]:65535");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "2001:db8::1");
    EXPECT_EQ(a->port, 65535);
    a = parse_host_port("[::1]");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    EXPECT_FALSE(a->port);
}

TEST(host_port, refuses_what_is_not_an_authority) {
    for (const char* text : {"", ":80", "h:", "h:0", "h:65536", "h:8x", "h h", "h:1:2", "::1",
                             "::1:80", "[::1", "[::1]80", "[::1]:", "[]", "[h]:1", "[1.2.3.4]",
                             "[fe80::1%eth0]", "h/x", "us@h"})
        EXPECT_FALSE(parse_host_port(text)) << text;
}

TEST(host_port, formats_brackets_and_leaves_out_the_default_port) {
    EXPECT_EQ(format_host_port("::1", 9000, 80), "[::1]:9000");
    EXPECT_EQ(format_host_port("::1", 80, 80), "[::1]");
    EXPECT_EQ(format_host_port("example.com", 80, 80), "example.com");
    EXPECT_EQ(format_host_port("example.com", 8080, 80), "example.com:8080");
    EXPECT_EQ(format_host_port("127.0.0.1", 6379), "127.0.0.1:6379");
}
