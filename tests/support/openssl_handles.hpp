#pragma once

// What the test helpers that call OpenSSL directly (jwt_mint, test_certs) share: owning
// handles, one-line errors and memory BIO contents.

#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace wsgate::test::openssl {

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

/// Throws std::runtime_error "<who>: <what>: <OpenSSL's first queued error>" and clears the queue.
[[noreturn]] inline void fail(const std::string& who, const std::string& what) {
    char reason[256] = "no OpenSSL error";
    if (unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    throw std::runtime_error(who + ": " + what + ": " + reason);
}

/// Everything written to a memory BIO.
inline std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace wsgate::test::openssl
