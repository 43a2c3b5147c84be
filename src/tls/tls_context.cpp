#include <wsgate/tls/tls_context.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdexcept>
#include <string_view>

#include "openssl_error.hpp"

namespace wsgate {

namespace {

// TLS 1.2: forward secrecy (ECDHE) and AEAD only; TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// A server reading its key at start-up or on SIGHUP must never wait for a passphrase on a
// terminal: refuse encrypted keys instead.
int no_passphrase(char*, int, int, void*) { return 0; }

// Selects "http/1.1" when the client offers it; otherwise the handshake goes on without ALPN
// (clients that offer only h2 fall back or give up on their own).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
    for (unsigned int i = 0; i < inlen;) {
        const unsigned int len = in[i];
        if (i + 1 + len > inlen) break;
        if (len == sizeof alpn_http11 - 1 &&
            std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == "http/1.1") {
            *out = in + i + 1;
            *outlen = static_cast<unsigned char>(len);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

std::runtime_error failure(const std::string& what) {
    return std::runtime_error("tls: " + what + ": " + detail::openssl_reason());
}

// Whether OpenSSL refused a key for not being the certificate's (SSL_CTX_use_PrivateKey checks
// a key against a certificate of its type already loaded).
bool key_mismatch() {
    for (const unsigned long e : {ERR_peek_error(), ERR_peek_last_error()}) {
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
                                               ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH))
            return true;
    }
    return false;
}

void common_settings(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_security_level(ctx, 2);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // Read and write buffers (about 34 KiB together) are freed whenever they are empty, so an
    // idle connection holds none.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

std::string name_of(X509_NAME* name) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) return {};
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, n > 0 ? static_cast<std::size_t>(n) : 0);
    BIO_free(bio);
    return out;
}

std::string time_of(const ASN1_TIME* t) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) return {};
    ASN1_TIME_print(bio, t);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, n > 0 ? static_cast<std::size_t>(n) : 0);
    BIO_free(bio);
    return out;
}

}  // namespace

void tls_context::ctx_deleter::operator()(ssl_ctx_st* ctx) const noexcept { SSL_CTX_free(ctx); }

tls_context::ctx_ptr tls_context::make_server(const std::string& cert_file,
                                              const std::string& key_file) {
    ERR_clear_error();
    ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) throw failure("cannot create an OpenSSL context");
    SSL_CTX* c = ctx.get();
    common_settings(c);
    if (SSL_CTX_set_cipher_list(c, tls12_ciphers) != 1) throw failure("TLS 1.2 cipher list");
    // Resumption by tickets only: a server-side cache would hold every session for a while.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 1);
    SSL_CTX_set_default_passwd_cb(c, no_passphrase);
    SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);

    if (SSL_CTX_use_certificate_chain_file(c, cert_file.c_str()) != 1)
        throw failure("certificate chain '" + cert_file + "'");
    const std::string mismatch =
        "private key '" + key_file + "' does not match the certificate in '" + cert_file + "'";
    if (SSL_CTX_use_PrivateKey_file(c, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        throw failure(key_mismatch() ? mismatch : "private key '" + key_file + "'");
    if (SSL_CTX_check_private_key(c) != 1) throw failure(mismatch);
    return ctx;
}

tls_context::tls_context(std::string certificate_chain_file, std::string private_key_file)
    : ctx_(make_server(certificate_chain_file, private_key_file)),
      cert_file_(std::move(certificate_chain_file)),
      key_file_(std::move(private_key_file)) {}

tls_context tls_context::client(const std::string& ca_file) {
    ERR_clear_error();
    tls_context out;
    out.client_ = true;
    out.ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!out.ctx_) throw failure("cannot create an OpenSSL context");
    SSL_CTX* c = out.ctx_.get();
    common_settings(c);
    if (SSL_CTX_set_alpn_protos(c, alpn_http11, sizeof alpn_http11) != 0) throw failure("ALPN");
    if (!ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(c, ca_file.c_str(), nullptr) != 1)
            throw failure("CA certificates '" + ca_file + "'");
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    }
    return out;
}

std::string tls_context::reload() {
    if (client_) return "tls: a client context has no files to reload";
    try {
        ctx_ = make_server(cert_file_, key_file_);
    } catch (const std::exception& e) {
        return e.what();
    }
    ++generation_;
    return {};
}

std::string tls_context::describe() const {
    X509* cert = ctx_ ? SSL_CTX_get0_certificate(ctx_.get()) : nullptr;
    if (cert == nullptr) return "no certificate";
    return "subject " + name_of(X509_get_subject_name(cert)) + ", issuer " +
           name_of(X509_get_issuer_name(cert)) + ", valid until " +
           time_of(X509_get0_notAfter(cert));
}

}  // namespace wsgate
