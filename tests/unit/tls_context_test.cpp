#include <wsgate/tls/tls_context.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "tls_test_helpers.hpp"

using namespace wsgate;
using namespace wsgate::test;

namespace {

// The message of the std::runtime_error that building a server context throws ("" if none).
std::string refusal(const std::string& cert, const std::string& key) {
    try {
        tls_context ctx(cert, key);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos; }

}  // namespace

TEST(tls_context, loads_a_matching_certificate_and_key) {
    tls_files files("wsgate-test");
    tls_context ctx(files.cert, files.key);
    EXPECT_FALSE(ctx.is_client());
    EXPECT_NE(ctx.native_handle(), nullptr);
    EXPECT_EQ(ctx.generation(), 0u);
    EXPECT_NE(ctx.describe().find("subject CN=wsgate-test"), std::string::npos) << ctx.describe();
    std::printf("describe(): %s\n", ctx.describe().c_str());
}

TEST(tls_context, accepts_an_rsa_certificate_of_2048_bits) {
    tls_files files("rsa", "RSA");
    EXPECT_NO_THROW(tls_context(files.cert, files.key));
}

TEST(tls_context, refuses_a_key_that_does_not_match_the_certificate_naming_the_file) {
    tls_files files;
    const auto other = files.dir.write_file("other-key.pem", make_self_signed("other").key_pem);
    const std::string why = refusal(files.cert, other.string());
    std::printf("refusal: %s\n", why.c_str());
    EXPECT_NE(why.find(other.string()), std::string::npos) << why;
    EXPECT_NE(why.find("does not match"), std::string::npos) << why;
    EXPECT_NE(why.find("key values mismatch"), std::string::npos) << "OpenSSL's reason: " << why;
    EXPECT_TRUE(one_line(why));
}

TEST(tls_context, refuses_a_missing_file_naming_it) {
    tls_files files;
    const std::string missing = (files.dir.path() / "nope.pem").string();
    const std::string why = refusal(missing, files.key);
    std::printf("refusal: %s\n", why.c_str());
    EXPECT_NE(why.find("certificate chain '" + missing + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("No such file"), std::string::npos) << why;
    EXPECT_TRUE(one_line(why));

    const std::string why_key = refusal(files.cert, missing);
    EXPECT_NE(why_key.find("private key '" + missing + "'"), std::string::npos) << why_key;
}

TEST(tls_context, refuses_a_file_that_is_not_pem) {
    tls_files files;
    const auto junk = files.dir.write_file("junk.pem", "this is not a certificate\n");
    const std::string why = refusal(junk.string(), files.key);
    std::printf("refusal: %s\n", why.c_str());
    EXPECT_NE(why.find(junk.string()), std::string::npos) << why;
    EXPECT_NE(why.find("no start line"), std::string::npos) << why;
    EXPECT_TRUE(one_line(why));
}

TEST(tls_context, refuses_an_encrypted_key_instead_of_asking_for_its_passphrase) {
    tls_files files;
    const auto cert = make_self_signed("locked");
    files.write(cert);
    const auto locked =
        files.dir.write_file("locked-key.pem", encrypt_key_pem(cert.key_pem, "secret"));
    const std::string why = refusal(files.cert, locked.string());
    std::printf("refusal: %s\n", why.c_str());
    EXPECT_NE(why.find("private key '" + locked.string() + "'"), std::string::npos) << why;
    EXPECT_TRUE(one_line(why));
}

TEST(tls_context, refuses_an_rsa_key_below_2048_bits) {
    tls_files files("weak", "RSA");
    files.write(make_self_signed("weak", "RSA", 1024));
    const std::string why = refusal(files.cert, files.key);
    std::printf("refusal: %s\n", why.c_str());
    EXPECT_NE(why.find(files.cert), std::string::npos) << why;
    EXPECT_NE(why.find("too small"), std::string::npos) << why;
}

TEST(tls_context, reload_with_a_bad_key_keeps_the_old_context) {
    tls_files files("first");
    tls_context ctx(files.cert, files.key);
    auto* before = ctx.native_handle();
    // A renewal half done: the new certificate is there, the key is still the old one.
    files.dir.write_file("cert.pem", make_self_signed("second").cert_pem);
    const std::string why = ctx.reload();
    std::printf("reload: %s\n", why.c_str());
    EXPECT_NE(why.find(files.key), std::string::npos) << why;
    EXPECT_NE(why.find("does not match"), std::string::npos) << why;
    EXPECT_EQ(ctx.native_handle(), before);
    EXPECT_EQ(ctx.generation(), 0u);
    EXPECT_NE(ctx.describe().find("CN=first"), std::string::npos) << ctx.describe();
}

TEST(tls_context, reload_with_a_missing_file_keeps_the_old_context) {
    tls_files files("first");
    tls_context ctx(files.cert, files.key);
    auto* before = ctx.native_handle();
    std::filesystem::remove(files.key);
    EXPECT_FALSE(ctx.reload().empty());
    EXPECT_EQ(ctx.native_handle(), before);
}

TEST(tls_context, reload_with_new_files_switches_the_context) {
    tls_files files("first");
    tls_context ctx(files.cert, files.key);
    auto* before = ctx.native_handle();
    files.write(make_self_signed("second"));
    EXPECT_EQ(ctx.reload(), "");
    EXPECT_NE(ctx.native_handle(), before);
    EXPECT_EQ(ctx.generation(), 1u);
    EXPECT_NE(ctx.describe().find("CN=second"), std::string::npos) << ctx.describe();
}

TEST(tls_context, a_client_context_has_nothing_to_reload) {
    tls_context ctx = tls_context::client();
    EXPECT_TRUE(ctx.is_client());
    EXPECT_FALSE(ctx.reload().empty());
}
