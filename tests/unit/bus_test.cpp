#include <wsgate/bus/envelope.hpp>
#include <wsgate/bus/local_bus.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <optional>

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

// Publishes and checks that the bus accepted the envelope; returns what it answered.
bus::publish_result publish_ok(bus& b, const envelope& e, bus::publish_options how = {}) {
    bus::publish_result got;
    b.publish(e, how, [&](const bus::publish_result& r) { got = r; });
    EXPECT_TRUE(got.accepted);
    return got;
}

const history::policy keep10{10, std::chrono::seconds(60)};

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

TEST(local_bus, history_gives_offsets_in_delivery_order_and_reads_them_back) {
    boost::asio::io_context ioc;
    local_bus bus(ioc.get_executor());
    std::vector<std::uint64_t> delivered;
    bus.on_message([&](const envelope& e) { delivered.push_back(e.offset); });
    bus.subscribe("ch:a");
    const auto first = publish_ok(bus, make(target_kind::channel, "a", "1"), {keep10, {}});
    const auto second = publish_ok(bus, make(target_kind::channel, "a", "2"), {keep10, {}});
    const auto plain = publish_ok(bus, make(target_kind::channel, "a", "3"));
    EXPECT_EQ(first.at.offset, 1u);
    EXPECT_EQ(second.at.offset, 2u);
    EXPECT_EQ(second.at.epoch, first.at.epoch);
    EXPECT_EQ(second.id, "2");
    EXPECT_EQ(plain.at.offset, 0u) << "history off: no offset";
    std::optional<history::read_result> read;
    bus.read_history("ch:a", first.at.epoch, 1, 100, [&](auto r) { read = std::move(r); });
    EXPECT_FALSE(read.has_value()) << "answered later, never inside the call";
    ioc.run();
    EXPECT_EQ(delivered, (std::vector<std::uint64_t>{1, 2, 0}));
    ASSERT_TRUE(read.has_value());
    EXPECT_TRUE(read->complete);
    ASSERT_EQ(read->events.size(), 1u);
    EXPECT_EQ(read->events[0]->id, "2");
    EXPECT_EQ(read->top.offset, 2u);
}

TEST(local_bus, a_retried_idempotency_key_returns_the_first_answer_and_publishes_nothing) {
    boost::asio::io_context ioc;
    local_bus bus(ioc.get_executor());
    int delivered = 0;
    bus.on_message([&](const envelope&) { ++delivered; });
    bus.subscribe("ch:a");
    const auto first = publish_ok(bus, make(target_kind::channel, "a", "first"), {keep10, "k1"});
    const auto retry = publish_ok(bus, make(target_kind::channel, "a", "retry"), {keep10, "k1"});
    const auto other = publish_ok(bus, make(target_kind::channel, "a", "other"), {keep10, "k2"});
    EXPECT_FALSE(first.duplicate);
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.id, "first");
    EXPECT_EQ(retry.at.offset, first.at.offset);
    EXPECT_EQ(retry.at.epoch, first.at.epoch);
    EXPECT_EQ(other.at.offset, 2u) << "the retry took no offset";
    ioc.run();
    EXPECT_EQ(delivered, 2);
}

TEST(local_bus, removed_history_starts_a_new_epoch) {
    boost::asio::io_context ioc;
    local_bus bus(ioc.get_executor());
    const auto before = publish_ok(bus, make(target_kind::channel, "a"), {keep10, {}});
    bool removed = false;
    bus.remove_history("ch:a", [&](bool ok) { removed = ok; });
    ioc.run();
    EXPECT_TRUE(removed);
    const auto after = publish_ok(bus, make(target_kind::channel, "a"), {keep10, {}});
    EXPECT_EQ(after.at.offset, 1u);
    EXPECT_NE(after.at.epoch, before.at.epoch);
}

TEST(envelope, the_offset_and_epoch_cross_the_wire_and_bad_ones_are_refused) {
    auto e = make(target_kind::channel, "c");
    e.offset = 18446744073709551615u;
    e.epoch = "x1y2";
    const auto back = decode_envelope(encode(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->offset, e.offset);
    EXPECT_EQ(back->epoch, "x1y2");
    EXPECT_EQ(decode_envelope(encode(make(target_kind::channel, "c")))->offset, 0u);
    for (const char* bad : {R"("offset":0,"epoch":"e",)", R"("offset":-1,"epoch":"e",)",
                            R"("offset":1.5,"epoch":"e",)", R"("offset":1,)",
                            R"("offset":1,"epoch":"",)", R"("offset":"1","epoch":"e",)"}) {
        const std::string text = std::string(R"({"v":1,"id":"a","origin":"o","kind":"channel",)") +
                                 R"("target":"t","event":"e","ts":1,)" + bad + R"("data":1})";
        EXPECT_FALSE(decode_envelope(text).has_value()) << text;
    }
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
