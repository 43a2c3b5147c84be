#include <wsgate/json/json_reader.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

using namespace wsgate;
namespace in = wsgate::json_input;

namespace {

std::string nested(std::size_t depth, std::string_view inner = "1") {
    return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

in::object read_ok(std::string_view text, std::size_t depth = 64) {
    auto r = in::read_object(text, depth);
    if (auto* e = std::get_if<in::error>(&r)) {
        ADD_FAILURE() << text.substr(0, 200) << ": " << e->message;
        return {};
    }
    return std::get<in::object>(std::move(r));
}

in::fault read_fault(std::string_view text, std::size_t depth = 64) {
    auto r = in::read_object(text, depth);
    if (auto* e = std::get_if<in::error>(&r)) return e->what;
    ADD_FAILURE() << text.substr(0, 200) << ": accepted";
    return in::fault::wrong_type;
}

}  // namespace

TEST(json_reader, members_keep_the_exact_text_of_their_values) {
    const std::string text =
        R"( { "a" : {"z":1,  "b":[1.50, 2E+3]} , "n": 123456789012345678901234567890, )"
        R"("s":"x\u0041\n", "t":true, "f":false, "nul":null, "e":[ ] } )";
    const auto doc = read_ok(text);
    ASSERT_EQ(doc.members.size(), 7u);
    EXPECT_EQ(doc.members[0].key, "a");
    EXPECT_EQ(doc.members[0].value.type, in::kind::object);
    EXPECT_EQ(doc.members[0].value.text, R"({"z":1,  "b":[1.50, 2E+3]})");
    EXPECT_EQ(doc.find("n")->value.type, in::kind::number);
    EXPECT_EQ(doc.find("n")->value.text, "123456789012345678901234567890");
    EXPECT_EQ(doc.find("s")->value.text, R"("x\u0041\n")");
    EXPECT_EQ(doc.find("s")->string, "xA\n");
    EXPECT_TRUE(doc.find("t")->boolean);
    EXPECT_EQ(doc.find("f")->value.type, in::kind::boolean);
    EXPECT_FALSE(doc.find("f")->boolean);
    EXPECT_EQ(doc.find("nul")->value.type, in::kind::null);
    EXPECT_EQ(doc.find("e")->value.text, "[ ]");
    EXPECT_EQ(doc.find("missing"), nullptr);
    // The texts are views of the caller's input, not of a copy.
    EXPECT_GE(doc.members[0].value.text.data(), text.data());
    EXPECT_LT(doc.members[0].value.text.data(), text.data() + text.size());
}

TEST(json_reader, numbers_of_any_size_are_valid_and_kept_as_written) {
    for (const char* number : {"0", "-0", "1e400", "-1e-400", "1E+2", "0.1", "-123.456e-7",
                               "184467440737095516161844674407370955161"}) {
        const std::string text = std::string(R"({"x":)") + number + "}";
        EXPECT_EQ(read_ok(text).find("x")->value.text, number);
    }
    for (const char* number : {"01", "-", "+1", "1.", ".5", "1e", "1e+", "0x10", "1.2.3", "NaN",
                               "Infinity", "--1"}) {
        const std::string text = std::string(R"({"x":)") + number + "}";
        EXPECT_EQ(read_fault(text), in::fault::invalid) << number;
    }
}

TEST(json_reader, malformed_text_is_invalid) {
    for (const char* text :
         {"", " ", "{", "}", R"({"a")", R"({"a":})", R"({"a" 1})", R"({"a":1,})", R"({,"a":1})",
          R"({"a":[1 2]})", R"({"a":[1,]})", R"({"a":[1}])", R"({"a":tru})", R"({"a":nul})",
          R"({"a":nullx})", R"({"a":"\x"})", R"({"a":"\ud800"})", "{\"a\":\"tab\there\"}",
          R"({a:1})", R"({'a':1})", R"({"a":1}{"b":2})", R"({"a":1} x)", R"({"a":1}])",
          "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", R"({"a":/*c*/1})"}) {
        EXPECT_EQ(read_fault(text), in::fault::invalid) << text;
        EXPECT_TRUE(in::check(text, 64).has_value()) << text;
    }
}

TEST(json_reader, depth_counts_every_array_and_object) {
    EXPECT_FALSE(in::check("1", 0));
    EXPECT_TRUE(in::check("[]", 0));
    EXPECT_FALSE(in::check("[]", 1));
    EXPECT_FALSE(in::check(nested(64), 64));
    EXPECT_EQ(in::check(nested(65), 64)->what, in::fault::too_deep);
    EXPECT_FALSE(in::check(R"({"a":{"b":[{}]}})", 4));
    EXPECT_EQ(in::check(R"({"a":{"b":[{}]}})", 3)->what, in::fault::too_deep);
    // Depth is the deepest path, not the number of containers.
    EXPECT_FALSE(in::check("[[1],[2],[3],[4]]", 2));
    EXPECT_FALSE(in::check("[[1],[2],{\"a\":[]}]", 3));
    EXPECT_EQ(in::check("[[1],[2],{\"a\":[]}]", 2)->what, in::fault::too_deep);
}

TEST(json_reader, deep_nesting_is_refused_without_recursion) {
    // 200,000 levels (the request that crashed the gateway): refused at level 65.
    const std::string deep = R"({"data":)" + nested(200000) + "}";
    EXPECT_EQ(read_fault(deep, 65), in::fault::too_deep);
    // Within a generous limit the walk is iterative too: 100,000 levels are checked, not
    // overflowing the stack (this test runs on an ordinary thread stack, and under ASan).
    EXPECT_FALSE(in::check(nested(100000), 100001));
    EXPECT_EQ(in::check(nested(100000, "x"), 100001)->what, in::fault::invalid);
}

TEST(json_reader, repeated_members_are_refused) {
    EXPECT_EQ(read_fault(R"({"a":1,"b":2,"a":3})"), in::fault::duplicate_key);
    // Same key spelled with an escape.
    EXPECT_EQ(read_fault(R"({"a":1,"\u0061":2})"), in::fault::duplicate_key);
    // Nested objects may repeat a key of their parent.
    EXPECT_EQ(read_ok(R"({"a":{"a":1}})").members.size(), 1u);
}

TEST(json_reader, wrong_kinds_are_told_apart_from_invalid_text) {
    EXPECT_EQ(read_fault("[1]"), in::fault::wrong_type);
    EXPECT_EQ(read_fault(R"("s")"), in::fault::wrong_type);
    EXPECT_EQ(read_fault("12"), in::fault::wrong_type);
    auto array = in::read_array(R"([1, "two" ,{"three":3},[4]])", 64);
    ASSERT_TRUE(std::holds_alternative<std::vector<in::raw_value>>(array));
    const auto& items = std::get<std::vector<in::raw_value>>(array);
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[1].text, R"("two")");
    EXPECT_EQ(items[2].type, in::kind::object);
    EXPECT_EQ(items[2].text, R"({"three":3})");
    EXPECT_EQ(items[3].text, "[4]");
    EXPECT_TRUE(std::holds_alternative<in::error>(in::read_array("{}", 64)));
}

TEST(json_reader, lone_scalars_must_be_the_whole_text) {
    EXPECT_FALSE(in::check(" 12 ", 64));
    EXPECT_FALSE(in::check(R"( "s" )", 64));
    EXPECT_FALSE(in::check("true", 64));
    EXPECT_FALSE(in::check("null", 64));
    EXPECT_TRUE(in::check("12 13", 64));
    EXPECT_TRUE(in::check(R"("s" "t")", 64));
    EXPECT_TRUE(in::check("true false", 64));
}

TEST(json_reader, large_inputs_and_reuse_give_the_same_answers) {
    // Larger than the per-thread parser's size: a parser of its own, same results.
    std::string big = R"({"data":")" + std::string(300000, 'x') + R"(","k":[1,2]})";
    const auto doc = read_ok(big);
    EXPECT_EQ(doc.find("data")->string.size(), 300000u);
    EXPECT_EQ(doc.find("k")->value.text, "[1,2]");
    // A small input after it reuses the shared parser.
    EXPECT_EQ(read_ok(R"({"k":"v"})").find("k")->string, "v");
    // Reading an inner object from the text of a member.
    const auto outer = read_ok(R"({"reply_to":{"connection":"c-1","id":7}})");
    const auto inner = read_ok(outer.find("reply_to")->value.text);
    EXPECT_EQ(inner.find("id")->value.text, "7");
}

TEST(json_reader, agrees_with_nlohmann_on_what_is_json) {
    // Every text nlohmann accepts (within the depth), the reader accepts; nlohmann refuses
    // numbers beyond a double, which the reader keeps (they are valid JSON).
    for (const char* text :
         {R"({"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00","d":-0.0e0})", R"({"":""})",
          "{\"a\":\"\xc3\xa9\"}", R"({"a":"\/\b\f\n\r\t\"\\"})"}) {
        ASSERT_TRUE(nlohmann::json::accept(text)) << text;
        EXPECT_FALSE(in::check(text, 64)) << text;
    }
}

// Found by the json fuzzer: simdjson took a root `false8` for `false`.
TEST(json_reader, a_literal_followed_by_more_characters_is_invalid) {
    for (const char* text : {"false8", "true1", "nullx", "falsefalse", "truee", "null0",
                             R"({"a":false8})", R"({"a":nullx})", "[true1]", "[null,truex]"}) {
        const auto bad = in::check(text, 64);
        ASSERT_TRUE(bad.has_value()) << text;
        EXPECT_EQ(bad->what, in::fault::invalid) << text;
    }
    // Whitespace around a literal is JSON: simdjson's root is_null() refused " null " too.
    for (const char* text :
         {"false", " true ", "null\n", " null ", R"({"a":null })", R"({"a":false})", "[true,null]"})
        EXPECT_FALSE(in::check(text, 64).has_value()) << text;
}
