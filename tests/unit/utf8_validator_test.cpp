#include <wsgate/session/utf8_validator.hpp>

#include <gtest/gtest.h>

#include <string>

using wsgate::utf8_validator;

TEST(utf8_validator, accepts_every_well_formed_length) {
    EXPECT_TRUE(utf8_validator::valid(""));
    EXPECT_TRUE(utf8_validator::valid("plain ascii, long enough for the eight-byte steps"));
    EXPECT_TRUE(utf8_validator::valid("caf\xc3\xa9"));            // U+00E9
    EXPECT_TRUE(utf8_validator::valid("\xe2\x82\xac"));           // U+20AC
    EXPECT_TRUE(utf8_validator::valid("\xef\xbf\xbf"));           // U+FFFF
    EXPECT_TRUE(utf8_validator::valid("\xf0\x9f\x98\x80"));       // U+1F600
    EXPECT_TRUE(utf8_validator::valid("\xf4\x8f\xbf\xbf"));       // U+10FFFF
    EXPECT_TRUE(utf8_validator::valid(std::string("nul \0 is fine", 13)));
}

TEST(utf8_validator, rejects_what_table_3_7_excludes) {
    EXPECT_FALSE(utf8_validator::valid("\x80")) << "lone continuation";
    EXPECT_FALSE(utf8_validator::valid("\xc0\xaf")) << "overlong /";
    EXPECT_FALSE(utf8_validator::valid("\xc1\xbf")) << "overlong";
    EXPECT_FALSE(utf8_validator::valid("\xe0\x9f\xbf")) << "overlong 3-byte";
    EXPECT_FALSE(utf8_validator::valid("\xed\xa0\x80")) << "surrogate U+D800";
    EXPECT_FALSE(utf8_validator::valid("\xf0\x8f\xbf\xbf")) << "overlong 4-byte";
    EXPECT_FALSE(utf8_validator::valid("\xf4\x90\x80\x80")) << "above U+10FFFF";
    EXPECT_FALSE(utf8_validator::valid("\xf5\x80\x80\x80"));
    EXPECT_FALSE(utf8_validator::valid("\xff"));
    EXPECT_FALSE(utf8_validator::valid("\xe2\x82")) << "cut short";
    EXPECT_FALSE(utf8_validator::valid("\xe2\x28\xa1")) << "bad continuation";
}

TEST(utf8_validator, characters_may_straddle_feeds) {
    const std::string text = "a\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 tail of plain text";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        utf8_validator v;
        EXPECT_TRUE(v.feed(std::string_view(text).substr(0, cut))) << cut;
        EXPECT_TRUE(v.feed(std::string_view(text).substr(cut))) << cut;
        EXPECT_TRUE(v.complete()) << cut;
    }
    utf8_validator v;
    EXPECT_TRUE(v.feed("\xf0\x9f"));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(v.feed("\x28"));
    EXPECT_FALSE(v.feed("ok")) << "a failure sticks";
}
