#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;

namespace wsgate {

/// The TLS settings of one listener: its certificate chain and private key (PEM files) and the
/// protocol choices every connection it accepts shares. Connections (tls_engine) take their own
/// reference to the OpenSSL context they start with, so reload() swaps in a new one for new
/// connections while open ones keep theirs: a certificate renewal (SIGHUP) drops no client.
///
/// Server settings: TLS 1.2 or later; TLS 1.3 with OpenSSL's default suites; TLS 1.2 with ECDHE
/// key exchange and AEAD ciphers only (AES-GCM, ChaCha20-Poly1305; all strong, so the client's
/// order wins, as Mozilla's "intermediate" profile does); security level 2 (RSA keys of 2048
/// bits or more); no compression; no renegotiation; session tickets but no server-side session
/// cache (idle memory); ALPN "http/1.1" selected when the client offers it. An encrypted private
/// key is refused rather than prompted for.
class tls_context {
  public:
    /// Builds a server context. Throws std::runtime_error, one line naming the file and
    /// OpenSSL's reason, when a file cannot be read or is not PEM, a key is too weak, or the
    /// key does not match the certificate.
    tls_context(std::string certificate_chain_file, std::string private_key_file);

    /// A client context (tests, and later upstream connections): TLS 1.2 or later, ALPN
    /// "http/1.1" offered. Verifies the server's chain against the CA certificates in `ca_file`
    /// (and the name given to each engine), or nothing when `ca_file` is empty.
    static tls_context client(const std::string& ca_file = {});

    tls_context(tls_context&&) noexcept = default;
    tls_context& operator=(tls_context&&) noexcept = default;
    ~tls_context() = default;

    /// Reads both files again into a new OpenSSL context and uses it for the engines created
    /// from now on. Returns an empty string when it did; otherwise a one-line reason, and the
    /// current context stays in use.
    [[nodiscard]] std::string reload();

    bool is_client() const noexcept { return client_; }
    /// How many times reload() succeeded.
    unsigned generation() const noexcept { return generation_; }
    /// The certificate in use, for logs: "subject CN=..., issuer CN=..., valid until ...".
    std::string describe() const;
    const std::string& certificate_chain_file() const noexcept { return cert_file_; }
    const std::string& private_key_file() const noexcept { return key_file_; }

    /// The current OpenSSL context (an SSL_CTX*). Engines take their own reference.
    ssl_ctx_st* native_handle() const noexcept { return ctx_.get(); }

  private:
    struct ctx_deleter {
        void operator()(ssl_ctx_st* ctx) const noexcept;
    };
    using ctx_ptr = std::unique_ptr<ssl_ctx_st, ctx_deleter>;

    tls_context() = default;
    static ctx_ptr make_server(const std::string& cert_file, const std::string& key_file);

    ctx_ptr ctx_;
    std::string cert_file_;
    std::string key_file_;
    bool client_ = false;
    unsigned generation_ = 0;
};

}  // namespace wsgate
