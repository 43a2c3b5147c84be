#include <wsgate/protocol/permessage_deflate.hpp>
#include <wsgate/session/ws_frame_parser.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace wsgate;

namespace {

/// What a client sends: a masked frame (RFC 6455 5.2) with the given header bits.
std::string client_frame(ws_opcode opcode, std::string_view payload, bool fin = true,
                         bool rsv1 = false, std::uint8_t rsv23 = 0) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | rsv23 |
                                    static_cast<int>(opcode)));
    const std::size_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<char>(0x80 | n));
    } else if (n <= 0xffff) {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff));
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    out.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4])));
    return out;
}

std::string text(std::string_view payload, bool fin = true) {
    return client_frame(ws_opcode::text, payload, fin);
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    return p.append(reason);
}

/// Records everything the parser reports, in order, as readable strings.
struct recorder : ws_frame_parser::handler {
    std::vector<std::string> events;
    std::vector<const char*> message_addresses;

    void on_message(ws_opcode opcode, std::string_view payload) override {
        events.push_back((opcode == ws_opcode::text ? "text:" : "binary:") + std::string(payload));
        message_addresses.push_back(payload.data());
    }
    void on_ping(std::string_view payload) override {
        events.push_back("ping:" + std::string(payload));
    }
    void on_pong(std::string_view payload) override {
        events.push_back("pong:" + std::string(payload));
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
};

/// Feeds `bytes` in pieces of at most `step` bytes; returns what the parser said, plus
/// "error:<code>" when it failed.
std::vector<std::string> feed(ws_frame_parser& parser, std::string bytes,
                              std::size_t step = std::string::npos) {
    recorder r;
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = std::min(step, bytes.size() - at);
        if (!parser.parse(bytes.data() + at, n, r)) {
            r.events.push_back("error:" + std::to_string(parser.error_code()));
            break;
        }
        at += n;
    }
    return r.events;
}

std::vector<std::string> parse_all(const std::string& bytes, std::size_t max = 1024,
                                   bool compressed = false) {
    ws_frame_parser parser(max);
    parser.allow_compressed(compressed);
    return feed(parser, bytes);
}

using events = std::vector<std::string>;

}  // namespace

TEST(ws_frame_parser, a_message_that_arrives_whole_is_passed_on_in_place) {
    ws_frame_parser parser(1024);
    std::string bytes = text(R"({"type":"ping"})");
    recorder r;
    ASSERT_TRUE(parser.parse(bytes.data(), bytes.size(), r));
    ASSERT_EQ(r.events, events{R"(text:{"type":"ping"})"});
    EXPECT_GE(r.message_addresses[0], bytes.data());
    EXPECT_LT(r.message_addresses[0], bytes.data() + bytes.size()) << "copied, not in place";
    EXPECT_TRUE(parser.idle());
}

TEST(ws_frame_parser, frames_split_at_every_byte_boundary_give_the_same_messages) {
    const std::string medium(300, 'm');  // 16-bit length
    const std::string big(70000, 'b');   // 64-bit length
    const std::string stream = text("a") + client_frame(ws_opcode::ping, "hi") + text(medium) +
                               text("", true) + text(big) + text("z");
    const events expected{"text:a", "ping:hi", "text:" + medium, "text:", "text:" + big,
                          "text:z"};
    for (std::size_t step : {1, 2, 3, 5, 7, 13, 64, 1000, 4096}) {
        ws_frame_parser parser(100000);
        EXPECT_EQ(feed(parser, stream, step), expected) << "pieces of " << step;
        EXPECT_TRUE(parser.idle());
    }
}

TEST(ws_frame_parser, fragments_join_and_control_frames_may_come_between_them) {
    const std::string stream = text("hel", false) + client_frame(ws_opcode::ping, "p") +
                               client_frame(ws_opcode::continuation, "lo ", false) +
                               client_frame(ws_opcode::pong, "") +
                               client_frame(ws_opcode::continuation, "world");
    EXPECT_EQ(parse_all(stream), (events{"ping:p", "pong:", "text:hello world"}));
    EXPECT_EQ(feed(*std::make_unique<ws_frame_parser>(1024), stream, 1),
              (events{"ping:p", "pong:", "text:hello world"}));
}

TEST(ws_frame_parser, binary_messages_are_reported_as_binary) {
    EXPECT_EQ(parse_all(client_frame(ws_opcode::binary, std::string("\x00\xff", 2))),
              events{std::string("binary:\x00\xff", 9)});
}

TEST(ws_frame_parser, close_frame_ends_parsing) {
    ws_frame_parser parser(1024);
    EXPECT_EQ(feed(parser, client_frame(ws_opcode::close, close_payload(1000, "bye")) +
                               text("ignored")),
              events{"close:1000:bye"});
    EXPECT_TRUE(parser.closed());
    EXPECT_EQ(parse_all(client_frame(ws_opcode::close, "")), events{"close:0:"});
    EXPECT_EQ(parse_all(client_frame(ws_opcode::close, close_payload(4000))),
              events{"close:4000:"});
}

TEST(ws_frame_parser, message_of_exactly_the_limit_is_accepted_one_byte_more_is_1009) {
    EXPECT_EQ(parse_all(text(std::string(1024, 'x'))), events{"text:" + std::string(1024, 'x')});
    EXPECT_EQ(parse_all(text(std::string(1025, 'x'))), events{"error:1009"});
    // Across fragments: the total counts.
    EXPECT_EQ(parse_all(text(std::string(600, 'x'), false) +
                        client_frame(ws_opcode::continuation, std::string(600, 'y'))),
              events{"error:1009"});
}

TEST(ws_frame_parser, too_big_is_detected_from_the_header_before_the_payload_arrives) {
    ws_frame_parser parser(1024);
    const std::string frame = text(std::string(5000, 'x'));
    EXPECT_EQ(feed(parser, frame.substr(0, 8)), events{"error:1009"});
    EXPECT_EQ(parser.error_reason(), "message too big");
}

TEST(ws_frame_parser, invalid_utf8_is_1007_as_soon_as_it_arrives) {
    EXPECT_EQ(parse_all(text("\xff")), events{"error:1007"});
    EXPECT_EQ(parse_all(text("caf\xc3")), events{"error:1007"}) << "cut character";
    // In the first fragment of a message still incomplete.
    ws_frame_parser parser(1024);
    EXPECT_EQ(feed(parser, text("ok \xed\xa0\x80", false)), events{"error:1007"}) << "surrogate";
}

TEST(ws_frame_parser, a_character_split_between_fragments_is_valid) {
    EXPECT_EQ(parse_all(text("caf\xc3", false) +
                        client_frame(ws_opcode::continuation, "\xa9!")),
              events{"text:caf\xc3\xa9!"});
}

TEST(ws_frame_parser, protocol_violations_are_1002) {
    std::string unmasked = text("x");
    unmasked[1] = static_cast<char>(unmasked[1] & 0x7f);
    unmasked.erase(2, 4);
    std::string non_minimal{static_cast<char>(0x81), static_cast<char>(0x80 | 126), 0, 5,
                            0, 0, 0, 0};
    non_minimal += "hello";
    const std::pair<const char*, std::string> cases[] = {
        {"unmasked", unmasked},
        {"rsv2", client_frame(ws_opcode::text, "x", true, false, 0x20)},
        {"rsv1 without deflate", client_frame(ws_opcode::text, "x", true, true)},
        {"unknown opcode", client_frame(static_cast<ws_opcode>(3), "x")},
        {"fragmented ping", client_frame(ws_opcode::ping, "x", false)},
        {"long ping", client_frame(ws_opcode::ping, std::string(126, 'p'))},
        {"lone continuation", client_frame(ws_opcode::continuation, "x")},
        {"new message inside one", text("a", false) + text("b")},
        {"non-minimal length", non_minimal},
        {"close of one byte", client_frame(ws_opcode::close, "x")},
        {"close code 1005", client_frame(ws_opcode::close, close_payload(1005))},
        {"close code 999", client_frame(ws_opcode::close, close_payload(999))},
        {"close code 2000", client_frame(ws_opcode::close, close_payload(2000))},
    };
    for (const auto& [name, bytes] : cases) EXPECT_EQ(parse_all(bytes), events{"error:1002"}) << name;
    EXPECT_EQ(parse_all(client_frame(ws_opcode::close, close_payload(1000, "\xff"))),
              events{"error:1007"});
}

TEST(ws_frame_parser, nothing_is_read_after_an_error) {
    ws_frame_parser parser(1024);
    EXPECT_EQ(feed(parser, text("\xff") + text("after")), events{"error:1007"});
    recorder r;
    std::string more = text("more");
    EXPECT_FALSE(parser.parse(more.data(), more.size(), r));
    EXPECT_TRUE(r.events.empty());
}

TEST(ws_frame_parser, compressed_messages_are_inflated_when_deflate_was_negotiated) {
    std::string compressed;
    const std::string message = R"({"type":"ping","pad":")" + std::string(500, 'a') + "\"}";
    deflate_message(message, 15, compressed);
    ASSERT_LT(compressed.size(), message.size());
    const std::string frame = client_frame(ws_opcode::text, compressed, true, true);
    EXPECT_EQ(parse_all(frame, 1024, true), events{"text:" + message});
    // Fragmented: RSV1 only on the first frame.
    const std::string fragments =
        client_frame(ws_opcode::text, compressed.substr(0, 5), false, true) +
        client_frame(ws_opcode::continuation, compressed.substr(5));
    ws_frame_parser parser(1024);
    parser.allow_compressed(true);
    EXPECT_EQ(feed(parser, fragments, 3), events{"text:" + message});
    // Inflated beyond the limit, corrupt, or invalid UTF-8 inside.
    EXPECT_EQ(parse_all(frame, 400, true), events{"error:1009"});
    EXPECT_EQ(parse_all(client_frame(ws_opcode::text, "\xff\xff\xff", true, true), 1024, true),
              events{"error:1007"});
    deflate_message("\xc3(", 15, compressed);
    EXPECT_EQ(parse_all(client_frame(ws_opcode::text, compressed, true, true), 1024, true),
              events{"error:1007"});
}
