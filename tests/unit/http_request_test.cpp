#include <wsgate/protocol/http_request.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace wsgate;
namespace http = boost::beast::http;

TEST(http_request, a_list_header_on_several_lines_is_one_list) {
    http::fields f;
    f.insert(http::field::connection, "keep-alive");
    f.insert(http::field::connection, "Upgrade");
    EXPECT_TRUE(list_contains(f, http::field::connection, "upgrade")) << "the second line counts";
    EXPECT_TRUE(list_contains(f, http::field::connection, "Keep-Alive"));
    EXPECT_FALSE(list_contains(f, http::field::connection, "close"));
    EXPECT_FALSE(list_contains(f, http::field::upgrade, "websocket")) << "no such field";

    http::fields u;
    u.insert(http::field::upgrade, "foo/1, ,WebSocket ,, h2c");
    EXPECT_TRUE(list_contains(u, http::field::upgrade, "websocket")) << "after a protocol/version";
    EXPECT_TRUE(list_contains(u, http::field::upgrade, "foo/1"));
    EXPECT_TRUE(list_contains(u, http::field::upgrade, "h2c"));
    EXPECT_FALSE(list_contains(u, http::field::upgrade, "foo")) << "elements compare whole";
    EXPECT_FALSE(list_contains(u, http::field::upgrade, "")) << "empty elements do not count";
    http::fields versioned;
    versioned.insert(http::field::upgrade, "websocket/13");
    EXPECT_FALSE(list_contains(versioned, http::field::upgrade, "websocket"));
}

TEST(http_request, keep_alive_reads_every_connection_line) {
    http::fields f;
    EXPECT_TRUE(keeps_alive(f, 11));
    EXPECT_FALSE(keeps_alive(f, 10));
    f.insert(http::field::connection, "Upgrade");
    f.insert(http::field::connection, "close");
    EXPECT_FALSE(keeps_alive(f, 11)) << "close on the second line";
    http::fields old;
    old.insert(http::field::connection, "x-foo");
    old.insert(http::field::connection, "Keep-Alive");
    EXPECT_TRUE(keeps_alive(old, 10));
}

TEST(http_request, origin_and_absolute_forms_route_by_path_and_query) {
    auto t = parse_request_target("/ws?user=alice&x=1");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/ws");
    ASSERT_TRUE(t->url.params().find("user") != t->url.params().end());
    EXPECT_EQ((*t->url.params().find("user")).value, "alice");

    t = parse_request_target("http://gateway.example:8080/ws?user=alice");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/ws");
    ASSERT_TRUE(t->url.params().find("user") != t->url.params().end());
    EXPECT_EQ((*t->url.params().find("user")).value, "alice");

    t = parse_request_target("HTTPS://gateway.example/api/v1/publish");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/api/v1/publish");
    t = parse_request_target("http://gateway.example");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/") << "an absolute form without a path asks for /";
    t = parse_request_target("http://gateway.example?x=1");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/");
    t = parse_request_target("/health%7Az");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/health%7Az") << "as sent, not decoded";
    t = parse_request_target("*");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "*");

    EXPECT_FALSE(parse_request_target(""));
    EXPECT_FALSE(parse_request_target("/ws?x=%zz"));
    EXPECT_FALSE(parse_request_target("http://host/ws#fragment"));
    EXPECT_FALSE(parse_request_target("://nothing"));
}
