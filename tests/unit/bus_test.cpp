#include <wsgate/bus/envelope.hpp>
#include <wsgate/bus/local_bus.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

using namespace wsgate;

namespace {

envelope make(target_kind kind, std::string target, std::string id = "i:1") {
    envelope e;
    e.id = std::move(id);
    e.origin = "i";
    e.kind = kind;
    e.target = std::move(target);
    e.event = "ev";
    e.data = R"({"n":1})";
    e.timestamp_ms = 1700000000123;
    return e;
}

// Publishes and checks that the bus accepted the envelope.
void publish_ok(bus& b, const envelope& e) {
    bool accepted = false;
    b.publish(e, [&](bool ok) { accepted = ok; });
    EXPECT_TRUE(accepted);
}

}  // namespace

TEST(envelope, topics_follow_the_target) {
    EXPECT_EQ(topic_of(make(target_kind::channel, "news")), "ch:news");
    EXPECT_EQ(topic_of(make(target_kind::user, "alice")), "user:alice");
    EXPECT_EQ(topic_of(make(target_kind::connection, "abc123-42")), "conn:abc123");
    EXPECT_EQ(topic_of(make(target_kind::broadcast, "")), "all");
}

TEST(envelope, encode_then_decode_gives_the_same_envelope) {
    for (auto kind : {target_kind::channel, target_kind::user, target_kind::connection,
                      target_kind::broadcast}) {
        const auto e = make(kind, kind == target_kind::broadcast ? "" : "t");
        const auto back = decode_envelope(encode(e));
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(back->id, e.id);
        EXPECT_EQ(back->origin, e.origin);
        EXPECT_EQ(back->kind, e.kind);
        EXPECT_EQ(back->target, e.target);
        EXPECT_EQ(back->event, e.event);
        EXPECT_EQ(back->data, e.data);
        EXPECT_EQ(back->timestamp_ms, e.timestamp_ms);
    }
}

TEST(envelope, malformed_or_unknown_versions_are_refused) {
    EXPECT_FALSE(decode_envelope("").has_value());
    EXPECT_FALSE(decode_envelope("[]").has_value());
    EXPECT_FALSE(decode_envelope(R"({"v":2,"id":"a","origin":"o","kind":"user","target":"t",
        "event":"e","ts":1,"data":1})").has_value());
    EXPECT_FALSE(decode_envelope(R"({"v":1,"id":"a","origin":"o","kind":"nope","target":"t",
        "event":"e","ts":1,"data":1})").has_value());
    EXPECT_FALSE(decode_envelope(R"({"v":1,"id":"a","origin":"o","kind":"user","target":"t",
        "event":"e","ts":1})").has_value());
}

TEST(local_bus, delivers_later_in_order_and_only_on_subscribed_topics) {
    boost::asio::io_context ioc;
    local_bus bus(ioc.get_executor());
    std::vector<std::string> got;
    bus.on_message([&](const envelope& e) { got.push_back(e.id); });
    bus.subscribe("ch:a");
    publish_ok(bus, make(target_kind::channel, "a", "1"));
    publish_ok(bus, make(target_kind::channel, "b", "2"));
    publish_ok(bus, make(target_kind::channel, "a", "3"));
    EXPECT_TRUE(got.empty()) << "never delivered from inside publish()";
    ioc.run();
    EXPECT_EQ(got, (std::vector<std::string>{"1", "3"}));
}

TEST(local_bus, unsubscribed_topics_stop_delivery) {
    boost::asio::io_context ioc;
    local_bus bus(ioc.get_executor());
    int got = 0;
    bus.on_message([&](const envelope&) { ++got; });
    bus.subscribe("all");
    publish_ok(bus, make(target_kind::broadcast, ""));
    bus.unsubscribe("all");
    ioc.run();
    EXPECT_EQ(got, 0) << "subscription state at delivery time decides";
}

TEST(envelope, messages_and_replies_keep_service_and_request_id_across_the_wire) {
    auto e = make(target_kind::connection, "i-3");
    e.frame = frame_kind::reply;
    e.service = "chatbot";
    e.reply_id = R"("req-9")";
    auto back = decode_envelope(encode(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->frame, frame_kind::reply);
    EXPECT_EQ(back->service, "chatbot");
    EXPECT_EQ(back->reply_id, R"("req-9")");
    e.frame = frame_kind::message;
    back = decode_envelope(encode(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->frame, frame_kind::message);
    EXPECT_EQ(back->service, "chatbot");
}

TEST(envelope, data_and_reply_ids_cross_the_wire_byte_for_byte) {
    auto e = make(target_kind::connection, "i-1");
    e.frame = frame_kind::reply;
    e.service = "bot";
    e.reply_id = "1.50";
    e.data = R"({"z":1,  "a":[1E+2, 123456789012345678901234567890, -1e400], "s":"\u00e9"})";
    const auto back = decode_envelope(encode(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->data, e.data);
    EXPECT_EQ(back->reply_id, "1.50");
}

TEST(envelope, data_nested_deeper_than_the_limit_is_refused_and_said_so) {
    auto e = make(target_kind::channel, "c");
    e.data = std::string(64, '[') + std::string(64, ']');
    EXPECT_TRUE(decode_envelope(encode(e), 64).has_value());
    e.data = std::string(100000, '[') + std::string(100000, ']');
    bool too_deep = false;
    EXPECT_FALSE(decode_envelope(encode(e), 64, &too_deep).has_value());
    EXPECT_TRUE(too_deep);
    too_deep = false;
    EXPECT_FALSE(decode_envelope("{", 64, &too_deep).has_value());
    EXPECT_FALSE(too_deep);
}
