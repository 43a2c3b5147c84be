#include <wsgate/upstream/http_service.hpp>
#include <wsgate/upstream/signature.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace wsgate;
using nlohmann::json;

TEST(signature, hmac_sha256_matches_rfc4231_test_case_2) {
    EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(signature, request_signature_covers_timestamp_and_body) {
    const auto sig = request_signature("0123456789abcdef", "1700000000", R"({"a":1})");
    EXPECT_EQ(sig, "sha256=" + hmac_sha256_hex("0123456789abcdef", R"(1700000000.{"a":1})"));
    EXPECT_NE(sig, request_signature("0123456789abcdef", "1700000001", R"({"a":1})"));
    EXPECT_NE(sig, request_signature("0123456789abcdeF", "1700000000", R"({"a":1})"));
}

TEST(webhook, body_carries_service_connection_user_id_and_data) {
    auto j = json::parse(webhook_body("chatbot", {"i-1", "al\"ice", std::string("7"),
                                                  R"({"text":"hi"})"}));
    EXPECT_EQ(j["service"], "chatbot");
    EXPECT_EQ(j["connection"], "i-1");
    EXPECT_EQ(j["user"], "al\"ice");
    EXPECT_EQ(j["id"], 7);
    EXPECT_EQ(j["data"]["text"], "hi");
    auto anonymous = json::parse(webhook_body("chatbot", {"i-2", "", std::nullopt, "null"}));
    EXPECT_TRUE(anonymous["user"].is_null());
    EXPECT_FALSE(anonymous.contains("id"));
}
