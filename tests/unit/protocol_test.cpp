#include <wsgate/protocol/client_message.hpp>
#include <wsgate/protocol/frame.hpp>
#include <wsgate/protocol/server_message.hpp>
#include <wsgate/session/queue_budget.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace wsgate;
using namespace wsgate::protocol;
using nlohmann::json;

namespace {

const name_rules rules{};

client_request parse_ok(std::string_view text) {
    auto r = parse_client_message(text, rules);
    EXPECT_TRUE(std::holds_alternative<client_request>(r)) << text;
    return std::holds_alternative<client_request>(r) ? std::get<client_request>(r)
                                                     : client_request{};
}

request_error parse_bad(std::string_view text) {
    auto r = parse_client_message(text, rules);
    EXPECT_TRUE(std::holds_alternative<request_error>(r)) << text;
    return std::holds_alternative<request_error>(r) ? std::get<request_error>(r) : request_error{};
}

}  // namespace

TEST(protocol, subscribe_carries_channel_and_id) {
    auto req = parse_ok(R"({"type":"subscribe","channel":"news","id":7})");
    EXPECT_EQ(req.type, request_type::subscribe);
    EXPECT_EQ(req.channel, "news");
    EXPECT_EQ(req.id, "7");
}

TEST(protocol, string_ids_are_echoed_as_json_text) {
    auto req = parse_ok(R"({"type":"ping","id":"a\"b"})");
    EXPECT_EQ(req.type, request_type::ping);
    EXPECT_EQ(req.id, R"("a\"b")");
    EXPECT_EQ(json::parse(pong_message(req.id))["id"], "a\"b");
}

TEST(protocol, requests_without_id_have_none) {
    EXPECT_FALSE(parse_ok(R"({"type":"unsubscribe","channel":"x"})").id.has_value());
}

TEST(protocol, unknown_fields_are_ignored) {
    EXPECT_EQ(parse_ok(R"({"type":"ping","extra":{"a":1}})").type, request_type::ping);
}

TEST(protocol, every_malformed_input_maps_to_its_code) {
    struct case_t {
        const char* text;
        client_error code;
    };
    const case_t cases[] = {
        {"", client_error::invalid_json},
        {"{", client_error::invalid_json},
        {"[1,2]", client_error::not_an_object},
        {"\"subscribe\"", client_error::not_an_object},
        // Scalars, with the whitespace around them JSON allows (a fuzzer found \n...true\n...).
        {"true", client_error::not_an_object},
        {"\n\n\n\n\n\ntrue\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", client_error::not_an_object},
        {" 12 ", client_error::not_an_object},
        {" null\t", client_error::not_an_object},
        {"{}", client_error::missing_field},
        {R"({"type":5})", client_error::invalid_field},
        {R"({"type":"dance"})", client_error::unknown_type},
        {R"({"type":"subscribe"})", client_error::missing_field},
        {R"({"type":"subscribe","channel":5})", client_error::invalid_field},
        {R"({"type":"subscribe","channel":""})", client_error::invalid_channel},
        {R"({"type":"subscribe","channel":"a b"})", client_error::invalid_channel},
        {R"({"type":"subscribe","channel":"é"})", client_error::invalid_channel},
        {R"({"type":"ping","id":{}})", client_error::invalid_field},
        {R"({"type":"ping","id":null})", client_error::invalid_field},
        {R"({"type":"auth"})", client_error::missing_field},
        {R"({"type":"auth","token":""})", client_error::invalid_field},
        {R"({"type":"refresh","token":7})", client_error::invalid_field},
        {R"({"type":"publish","channel":"a","data":1})", client_error::missing_field},
        {R"({"type":"publish","event":"","channel":"a"})", client_error::invalid_field},
        {R"({"type":"publish","event":"e"})", client_error::missing_field},
        {R"({"type":"publish","event":"e","channel":"a b"})", client_error::invalid_channel},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_bad(c.text).code, c.code) << c.text;
}

TEST(protocol, errors_keep_the_request_id_once_it_is_readable) {
    EXPECT_EQ(parse_bad(R"({"type":"dance","id":9})").id, "9");
    EXPECT_EQ(parse_bad(R"({"type":"subscribe","channel":"","id":"q"})").id, "\"q\"");
    EXPECT_FALSE(parse_bad(R"({"type":"ping","id":[1]})").id.has_value());
}

TEST(protocol, ids_longer_than_64_characters_are_refused) {
    const std::string ok(64, 'x'), long_id(65, 'x');
    parse_ok(R"({"type":"ping","id":")" + ok + "\"}");
    EXPECT_EQ(parse_bad(R"({"type":"ping","id":")" + long_id + "\"}").code,
              client_error::invalid_field);
}

TEST(protocol, channel_rules_bound_length_and_alphabet) {
    name_rules r{5, "-"};
    EXPECT_TRUE(r.valid("a-b9Z"));
    EXPECT_FALSE(r.valid("abcdef"));
    EXPECT_FALSE(r.valid("a.b"));
    EXPECT_FALSE(r.valid(""));
    EXPECT_FALSE(r.valid(std::string("a\0b", 3)));
}

TEST(protocol, server_messages_are_valid_json_with_their_fields) {
    auto w = json::parse(welcome_message("i-1", "", std::chrono::milliseconds(25000)));
    EXPECT_EQ(w["type"], "welcome");
    EXPECT_EQ(w["connection"], "i-1");
    EXPECT_TRUE(w["user"].is_null());
    EXPECT_EQ(w["heartbeat_ms"], 25000);
    EXPECT_EQ(json::parse(welcome_message("i-1", "al\"ice", {}))["user"], "al\"ice");
    EXPECT_FALSE(w.contains("offset"));
    EXPECT_FALSE(w.contains("recovered"));
    auto with_stream = json::parse(welcome_message("i-1", "alice", std::chrono::milliseconds(1),
                                                   history::position{"u1", 9}, false));
    EXPECT_EQ(with_stream["epoch"], "u1");
    EXPECT_EQ(with_stream["offset"], 9);
    EXPECT_EQ(with_stream["recovered"], false);
    EXPECT_EQ(json::parse(ack_message(std::nullopt)), json::parse(R"({"type":"ack"})"));
    auto e = json::parse(error_message("1", "invalid_channel", "bad \"name\""));
    EXPECT_EQ(e["id"], 1);
    EXPECT_EQ(e["code"], "invalid_channel");
    EXPECT_EQ(e["message"], "bad \"name\"");
}

// Found by tests/fuzz/protocol_fuzz: the unknown type is quoted cut to 64 bytes, here inside
// the two bytes of 'é'; the error frame threw from nlohmann's dump() and took the gateway down.
TEST(protocol, error_for_a_long_unknown_type_cut_inside_a_utf8_character_is_valid_json) {
    const auto err = parse_bad(R"({"type":")" + std::string(63, 'x') + "\u00e9\"}");
    EXPECT_EQ(err.code, client_error::unknown_type);
    std::string frame;
    ASSERT_NO_THROW(frame = error_message(err.id, to_string(err.code), err.message));
    const auto j = json::parse(frame);
    EXPECT_EQ(j["code"], "unknown_type");
    EXPECT_EQ(j["message"], "unknown type '" + std::string(63, 'x') + "\uFFFD'");
}

TEST(protocol, server_messages_replace_invalid_utf8_instead_of_throwing) {
    EXPECT_EQ(json::parse(error_message(std::nullopt, "x", "a\xff"))["message"], "a\uFFFD");
}

TEST(protocol, event_message_splices_data_and_omits_channel_when_not_a_channel_event) {
    auto on_channel = json::parse(event_message("news", "created", "i:1", R"({"a":[1,2]})"));
    EXPECT_EQ(on_channel["channel"], "news");
    EXPECT_EQ(on_channel["event"], "created");
    EXPECT_EQ(on_channel["id"], "i:1");
    EXPECT_EQ(on_channel["data"]["a"][1], 2);
    auto direct = json::parse(event_message("", "e", "i:2", "null"));
    EXPECT_FALSE(direct.contains("channel"));
    EXPECT_TRUE(direct["data"].is_null());
}

TEST(protocol, event_message_carries_the_stream_position_only_on_a_channel_with_history) {
    auto plain = json::parse(event_message("news", "e", "i:1", "1"));
    EXPECT_FALSE(plain.contains("offset"));
    EXPECT_FALSE(plain.contains("epoch"));
    auto kept = json::parse(event_message("news", "e", "i:1", "1", {"k3f9", 42}));
    EXPECT_EQ(kept["epoch"], "k3f9");
    EXPECT_EQ(kept["offset"], 42);
    EXPECT_EQ(kept["data"], 1);
}

TEST(protocol, gap_message_names_the_lost_range_and_omits_what_is_unknown) {
    auto both = json::parse(gap_message("room:1", history::position{"e1", 37},
                                        history::position{"e1", 52}));
    EXPECT_EQ(both, json::parse(R"({"type":"gap","channel":"room:1",
        "after":{"epoch":"e1","offset":37},"epoch":"e1","offset":52})"));
    auto no_after = json::parse(gap_message("c", std::nullopt, history::position{"e2", 3}));
    EXPECT_FALSE(no_after.contains("after"));
    EXPECT_EQ(no_after["offset"], 3);
    auto no_end = json::parse(gap_message("c", history::position{"e1", 9}, std::nullopt));
    EXPECT_FALSE(no_end.contains("epoch"));
    EXPECT_FALSE(no_end.contains("offset"));
    EXPECT_EQ(no_end["after"]["offset"], 9);
    EXPECT_EQ(json::parse(user_gap_message("alice", std::nullopt, history::position{"u", 4})),
              json::parse(R"({"type":"gap","user":"alice","epoch":"u","offset":4})"));
}

TEST(frame, header_length_follows_rfc6455) {
    for (std::size_t n : {0, 1, 125, 126, 65535, 65536, 200000}) {
        const std::string payload(n, 'x');
        const auto f = make_text_frame(payload);
        const std::size_t header = text_frame_header_size(n);
        ASSERT_EQ(f->size(), header + n);
        EXPECT_EQ(static_cast<unsigned char>(f->wire()[0]), 0x81);
        const auto len7 = static_cast<unsigned char>(f->wire()[1]);
        EXPECT_EQ(len7 & 0x80, 0) << "server frames are unmasked";
        std::uint64_t decoded = len7;
        if (len7 == 126 || len7 == 127) {
            decoded = 0;
            for (std::size_t i = 2; i < header; ++i)
                decoded = (decoded << 8) | static_cast<unsigned char>(f->wire()[i]);
        }
        EXPECT_EQ(decoded, n);
        EXPECT_EQ(f->wire().substr(header), payload);
    }
}

TEST(protocol, send_carries_service_and_data_as_json_text) {
    auto req = parse_ok(R"({"type":"send","service":"chatbot","id":7,"data":{"text":"hi"}})");
    EXPECT_EQ(req.type, request_type::send);
    EXPECT_EQ(req.service, "chatbot");
    EXPECT_EQ(json::parse(req.data)["text"], "hi");
    EXPECT_EQ(parse_ok(R"({"type":"send","service":"x"})").data, "null");
    EXPECT_EQ(parse_bad(R"({"type":"send"})").code, client_error::missing_field);
    EXPECT_EQ(parse_bad(R"({"type":"send","service":1})").code, client_error::invalid_field);
}

TEST(protocol, replies_and_messages_name_their_service) {
    auto reply = json::parse(reply_message("7", "chatbot", R"({"t":1})"));
    EXPECT_EQ(reply["type"], "reply");
    EXPECT_EQ(reply["id"], 7);
    EXPECT_EQ(reply["service"], "chatbot");
    EXPECT_EQ(reply["data"]["t"], 1);
    auto message = json::parse(service_message("chatbot", "[1]"));
    EXPECT_EQ(message["type"], "message");
    EXPECT_FALSE(message.contains("id"));
    EXPECT_TRUE(valid_service_name("chat-bot_2"));
    EXPECT_FALSE(valid_service_name("Chat"));
    EXPECT_FALSE(valid_service_name(""));
}

TEST(protocol, auth_and_refresh_carry_a_bounded_token) {
    auto auth = parse_ok(R"({"type":"auth","token":"a.b.c","id":1})");
    EXPECT_EQ(auth.type, request_type::auth);
    EXPECT_EQ(auth.token, "a.b.c");
    EXPECT_EQ(parse_ok(R"({"type":"refresh","token":"x.y.z"})").type, request_type::refresh);
    const std::string huge = R"({"type":"auth","token":")" + std::string(8193, 'a') + R"("})";
    EXPECT_EQ(parse_bad(huge).code, client_error::invalid_field);
}

TEST(protocol, publish_carries_channel_event_and_data) {
    auto req = parse_ok(R"({"type":"publish","channel":"room:1","event":"say","data":{"t":"hi"}})");
    EXPECT_EQ(req.type, request_type::publish);
    EXPECT_EQ(req.channel, "room:1");
    EXPECT_EQ(req.event, "say");
    EXPECT_EQ(json::parse(req.data), json::parse(R"({"t":"hi"})"));
}

// The protocol says data is passed through unchanged: the bytes a client sends are the bytes
// the service and other clients get (no re-sorting, no re-spelling, no lost precision).
TEST(protocol, data_is_kept_byte_for_byte) {
    const std::string data =
        R"({"b":1, "a":[2.50,1E+2,123456789012345678901234567890], "s":"\u00e9"})";
    auto pub = parse_ok(R"({"type":"publish","channel":"c","event":"e","data": )" + data + " }");
    EXPECT_EQ(pub.data, data);
    auto send = parse_ok(R"({"type":"send","service":"bot","data":)" + data + "}");
    EXPECT_EQ(send.data, data);
    EXPECT_EQ(parse_ok(R"({"type":"send","service":"bot","data":1e400})").data, "1e400");
}

TEST(protocol, ids_are_echoed_exactly_as_sent) {
    EXPECT_EQ(parse_ok(R"({"type":"ping","id":1.0})").id, "1.0");
    EXPECT_EQ(parse_ok(R"({"type":"ping","id":12345678901234567890123})").id,
              "12345678901234567890123");
    EXPECT_EQ(parse_ok(R"({"type":"ping","id":"\u0041"})").id, R"("\u0041")");
}

TEST(protocol, id_length_counts_characters_not_bytes) {
    // 64 'é' are 128 bytes: still 64 characters.
    std::string e64, e65;
    for (int i = 0; i < 64; ++i) e64 += "\xc3\xa9";
    e65 = e64 + "\xc3\xa9";
    parse_ok(R"({"type":"ping","id":")" + e64 + "\"}");
    EXPECT_EQ(parse_bad(R"({"type":"ping","id":")" + e65 + "\"}").code,
              client_error::invalid_field);
    // An escape is one character too.
    std::string u64;
    for (int i = 0; i < 64; ++i) u64 += "\\u00e9";
    parse_ok(R"({"type":"ping","id":")" + u64 + "\"}");
}

TEST(protocol, nesting_deeper_than_the_limit_is_invalid_json_naming_the_limit) {
    const auto deep = [](int n) {
        return R"({"type":"publish","channel":"c","event":"e","data":)" + std::string(n, '[') +
               std::string(n, ']') + "}";
    };
    parse_ok(deep(64));
    const auto bad = parse_bad(deep(65));
    EXPECT_EQ(bad.code, client_error::invalid_json);
    EXPECT_TRUE(bad.too_deep);
    EXPECT_NE(bad.message.find("limits.json_max_depth"), std::string::npos) << bad.message;
    EXPECT_NE(bad.message.find("64"), std::string::npos) << bad.message;
    // 200,000 levels: refused, not a stack overflow.
    EXPECT_TRUE(parse_bad(deep(200000)).too_deep);
    // The limit is the caller's.
    EXPECT_TRUE(std::holds_alternative<request_error>(parse_client_message(deep(5), rules, 4)));
    EXPECT_TRUE(std::holds_alternative<client_request>(parse_client_message(deep(4), rules, 4)));
}

TEST(protocol, a_field_given_twice_is_refused) {
    const auto bad = parse_bad(R"({"type":"subscribe","channel":"a","channel":"b"})");
    EXPECT_EQ(bad.code, client_error::invalid_json);
    EXPECT_FALSE(bad.too_deep);
}

// queue_budget::event_frame_overhead is what max_queue_bytes must allow per event of a batch
// beyond its body: the frame of the smallest publish item that makes it may not be longer.
TEST(protocol, an_event_frame_exceeds_its_publish_item_by_at_most_the_budgeted_overhead) {
    const std::string channel(128, 'c'), event(128, 'e'), service(64, 's');
    const std::string id = std::string(32, 'i') + ":18446744073709551615";  // longest event id
    const auto frame_size = [](const std::string& payload) {
        return make_text_frame(payload)->size();
    };
    struct item_and_frame {
        std::string item, frame;
    };
    const item_and_frame cases[] = {
        // data omitted: the frame says "data":null.
        {R"({"channel":")" + channel + R"(","event":")" + event + R"("})",
         event_message(channel, event, id, "null")},
        {R"({"user":"u","event":")" + event + R"("})", event_message("", event, id, "null")},
        {R"({"broadcast":true,"event":")" + event + R"("})", event_message("", event, id, "null")},
        {R"({"connection":"c","service":")" + service + R"("})", service_message(service, "null")},
        {R"({"reply_to":{"connection":"c","id":1},"service":")" + service + R"("})",
         reply_message("1", service, "null")},
    };
    for (const auto& c : cases) {
        EXPECT_LE(frame_size(c.frame), c.item.size() + queue_budget::event_frame_overhead)
            << c.item;
        // The same holds with data, which both carry byte for byte.
        const std::string data(70000, '1');
        auto with_data = c.item;
        with_data.insert(with_data.size() - 1, ",\"data\":" + data);
        EXPECT_LE(frame_size(c.frame.substr(0, c.frame.size() - 5) + data + "}"),
                  with_data.size() + queue_budget::event_frame_overhead);
    }
}

TEST(protocol, subscribe_may_carry_the_position_to_recover_from) {
    auto r = parse_ok(R"({"type":"subscribe","channel":"c","recover":{"epoch":"ab12","offset":41}})");
    ASSERT_TRUE(r.since.has_value());
    EXPECT_EQ(r.since->epoch, "ab12");
    EXPECT_EQ(r.since->offset, 41u);
    EXPECT_FALSE(parse_ok(R"({"type":"subscribe","channel":"c"})").since.has_value());
    for (const char* bad : {R"("recover":5)", R"("recover":{"offset":1})",
                            R"("recover":{"epoch":"e"})", R"("recover":{"epoch":1,"offset":1})",
                            R"("recover":{"epoch":"e","offset":-1})",
                            R"("recover":{"epoch":"e","offset":1.5})",
                            R"("recover":{"epoch":"e","offset":"1"})",
                            R"("recover":{"epoch":"e","offset":1,"x":2})",
                            R"("recover":{"epoch":"e","offset":18446744073709551616})"}) {
        const auto e = parse_bad(std::string(R"({"type":"subscribe","channel":"c",)") + bad + "}");
        EXPECT_EQ(e.code, client_error::invalid_field) << bad;
    }
}

TEST(protocol, auth_may_carry_the_position_of_the_users_stream) {
    auto r = parse_ok(R"({"type":"auth","token":"t","recover":{"epoch":"u1","offset":7}})");
    EXPECT_EQ(r.type, request_type::auth);
    ASSERT_TRUE(r.since.has_value());
    EXPECT_EQ(r.since->epoch, "u1");
    EXPECT_EQ(r.since->offset, 7u);
    EXPECT_EQ(parse_bad(R"({"type":"auth","token":"t","recover":{"offset":7}})").code,
              client_error::invalid_field);
    // A refresh keeps the connection's stream: it takes no position.
    EXPECT_FALSE(
        parse_ok(R"({"type":"refresh","token":"t","recover":{"epoch":"u1","offset":7}})")
            .since.has_value());
}

TEST(protocol, history_requests_take_a_channel_an_optional_position_and_limit) {
    auto r = parse_ok(
        R"({"type":"history","channel":"c","since":{"epoch":"","offset":0},"limit":10,"id":2})");
    EXPECT_EQ(r.type, request_type::history);
    EXPECT_EQ(r.channel, "c");
    ASSERT_TRUE(r.since.has_value());
    EXPECT_EQ(r.since->epoch, "");
    EXPECT_EQ(r.limit, 10u);
    EXPECT_EQ(parse_bad(R"({"type":"history"})").code, client_error::missing_field);
    EXPECT_EQ(parse_bad(R"({"type":"history","channel":"c","limit":0})").code,
              client_error::invalid_field);
    EXPECT_EQ(parse_bad(R"({"type":"history","channel":"c","since":[]})").code,
              client_error::invalid_field);
}
