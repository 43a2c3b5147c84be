#include "test_certs.hpp"

#include <climits>
#include <memory>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdexcept>

#include "openssl_handles.hpp"

namespace wsgate::test {

namespace {

struct x509_deleter {
    void operator()(X509* p) const { X509_free(p); }
};
struct ext_deleter {
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using openssl::bio_ptr;
using openssl::bio_text;
using openssl::pkey_ptr;

[[noreturn]] void openssl_failed(const std::string& what) { openssl::fail("test_certs", what); }

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, ext_deleter> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) openssl_failed("adding an extension");
}

}  // namespace

test_certificate make_self_signed(const std::string& common_name, const std::string& key_type,
                                  unsigned rsa_bits) {
    pkey_ptr key(key_type == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                                       static_cast<std::size_t>(rsa_bits))
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) openssl_failed("generating a key");

    std::unique_ptr<X509, x509_deleter> cert(X509_new());
    if (!cert) openssl_failed("X509_new");
    X509* c = cert.get();
    X509_set_version(c, 2);  // v3: extensions
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 24 * 3600);
    X509_NAME* name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(c, name);
    X509_set_pubkey(c, key.get());
    add_extension(c, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    add_extension(c, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(c, NID_subject_key_identifier, "hash");
    if (X509_sign(c, key.get(), EVP_sha256()) == 0) openssl_failed("signing the certificate");

    bio_ptr cert_bio(BIO_new(BIO_s_mem()));
    bio_ptr key_bio(BIO_new(BIO_s_mem()));
    if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), c) != 1 ||
        PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1)
        openssl_failed("writing PEM");
    return {bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

std::string encrypt_key_pem(const std::string& key_pem, const std::string& passphrase) {
    bio_ptr in(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    pkey_ptr key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) openssl_failed("reading the key");
    bio_ptr out(BIO_new(BIO_s_mem()));
    if (!out ||
        PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), passphrase.data(),
                                      static_cast<int>(passphrase.size()), nullptr, nullptr) != 1)
        openssl_failed("encrypting the key");
    return bio_text(out.get());
}

}  // namespace wsgate::test
