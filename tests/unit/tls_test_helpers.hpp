#pragma once

// Shared by the tls_*_test.cpp files: certificate files on disk, and two engines wired
// back to back in memory.

#include <wsgate/tls/tls_context.hpp>
#include <wsgate/tls/tls_engine.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "temp_dir.hpp"
#include "test_certs.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define WSGATE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSGATE_TEST_ASAN 1
#endif
#endif
#ifdef WSGATE_TEST_ASAN
// From the sanitizer runtime (<sanitizer/allocator_interface.h>, which only clang ships).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace wsgate::test {

/// Heap bytes in use by the whole process (glibc's count, or ASan's when it owns the heap).
inline std::size_t heap_in_use() {
#ifdef WSGATE_TEST_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

/// A certificate and key written to a temporary directory, and a CA file that trusts it.
struct tls_files {
    temp_dir dir;
    std::string cert;
    std::string key;

    explicit tls_files(const std::string& common_name = "wsgate-test",
                       const std::string& key_type = "EC") {
        write(make_self_signed(common_name, key_type));
    }

    void write(const test_certificate& c) {
        cert = dir.write_file("cert.pem", c.cert_pem).string();
        key = dir.write_file("key.pem", c.key_pem).string();
    }
};

/// A client engine and a server engine talking through memory: pump() carries each one's
/// ciphertext to the other (in pieces of at most `piece` bytes) and collects the plaintext
/// each receives, until neither has anything left to say.
struct duplex {
    tls_engine client;
    tls_engine server;
    std::string client_got;  ///< plaintext the client received
    std::string server_got;  ///< plaintext the server received
    std::size_t piece = SIZE_MAX;

    duplex(const tls_context& client_ctx, const tls_context& server_ctx,
           const std::string& server_name = "localhost", tls_limits server_limits = {})
        : client(client_ctx, server_name), server(server_ctx, {}, server_limits) {}

    void pump() {
        client.start();
        for (int rounds = 0; rounds < 100000; ++rounds) {
            const bool a = carry(client, server, server_got);
            const bool b = carry(server, client, client_got);
            if (!a && !b) return;
        }
    }

    bool handshake() {
        pump();
        return client.state() == tls_state::open && server.state() == tls_state::open;
    }

    static void drain(tls_engine& e, std::string& got) {
        char buf[4096];
        while (std::size_t n = e.read_plain(buf, sizeof buf)) got.append(buf, n);
    }

    bool carry(tls_engine& from, tls_engine& to, std::string& got) const {
        bool moved = false;
        while (from.pending_ciphertext() > 0) {
            const std::string_view c = from.ciphertext();
            const std::size_t n = std::min(c.size(), piece);
            to.feed(c.data(), n);
            from.consume_ciphertext(n);
            drain(to, got);
            moved = true;
        }
        return moved;
    }
};

}  // namespace wsgate::test
