#pragma once

#include <wsgate/tls/tls_error.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct ssl_st;

namespace wsgate {

class tls_context;

/// What one engine holds for its peer at most; going over fails the connection
/// (tls_errc::overflow) instead of growing.
struct tls_limits {
    /// Ciphertext fed and not yet decrypted. The caller reads plaintext until read_plain()
    /// returns 0 after each feed(), so this holds one socket read plus a partial record (up to
    /// about 17 KiB): read the socket in pieces of at most max_input - 17 KiB.
    std::size_t max_input = 64 * 1024;
    /// Output the peer's own input made the engine queue (handshake flights, alerts, answers to
    /// key updates) while nothing was written: a peer that sends without reading cannot make
    /// the engine buffer its answers without end. Output of write_plain() does not count: its
    /// caller bounds its own queue.
    std::size_t max_reply = 64 * 1024;
};

enum class tls_state {
    handshaking,  ///< no application data yet
    open,         ///< handshake done: plaintext flows both ways
    closed,       ///< the peer sent close_notify (what it sent before is still readable)
    failed,       ///< see error() and error_message(); flush pending_ciphertext() (an alert)
};

/// One TLS connection without I/O (sans-I/O): ciphertext from the socket goes in through
/// feed(), plaintext comes out of read_plain(); plaintext goes in through write_plain(),
/// ciphertext for the socket comes out of ciphertext()/ciphertext_buffers() and
/// consume_ciphertext(). OpenSSL reads and writes the engine's own buffers (a custom BIO, no
/// copies through memory BIOs); every buffer is freed when empty, OpenSSL's own too
/// (SSL_MODE_RELEASE_BUFFERS), so an idle connection holds only the SSL object.
///
/// Ciphertext waiting to be written sits in chunks that never move: a view or buffer handed
/// out stays valid until consume_ciphertext() passes it (or the engine is destroyed), whatever
/// is queued meanwhile, so an asynchronous write can be in flight while the engine works.
///
/// Single-threaded. Movable (the state lives behind a pointer); a moved-from engine may only
/// be destroyed or assigned to.
class tls_engine {
  public:
    /// An engine using `ctx`'s current OpenSSL context (it keeps its own reference, so the
    /// context may be reloaded or destroyed meanwhile). A client context makes a client engine:
    /// `server_name` is sent as SNI and, when the context verifies, checked against the
    /// certificate. An engine that cannot be created (out of memory) starts failed.
    explicit tls_engine(const tls_context& ctx, std::string_view server_name = {},
                        tls_limits limits = {});
    tls_engine(tls_engine&&) noexcept;
    tls_engine& operator=(tls_engine&&) noexcept;
    ~tls_engine();

    /// Client engines: queues the ClientHello (once; later calls do nothing). Server engines
    /// wait for the client and need no start.
    void start();

    // ---- input ----

    /// Takes bytes read from the socket and advances the handshake. Copies them: the caller's
    /// buffer may be reused at once. Ignored once closed or failed. Afterwards, read plaintext
    /// until read_plain() returns 0, write pending_ciphertext(), and check state().
    void feed(const void* data, std::size_t n);

    /// Decrypts into `out`: the number of bytes, or 0 when more input is needed (or the
    /// connection is closed or failed: see state()).
    std::size_t read_plain(void* out, std::size_t max);

    /// Decrypts into a buffer sequence, filling as much of it as the input allows.
    template <class MutableBufferSequence>
    std::size_t read_plain_into(const MutableBufferSequence& buffers) {
        std::size_t total = 0;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            boost::asio::mutable_buffer b(*it);
            while (b.size() > 0) {
                const std::size_t n = read_plain(b.data(), b.size());
                if (n == 0) return total;
                total += n;
                b += n;
            }
        }
        return total;
    }

    /// Plaintext already decrypted and waiting in OpenSSL (more may follow from the input).
    std::size_t pending_plain() const noexcept;
    /// Ciphertext fed and not yet decrypted.
    std::size_t pending_input() const noexcept;

    // ---- output ----

    /// Whether write_plain() would encrypt now: the handshake is done, no close_notify was
    /// sent, nothing failed.
    bool writable() const noexcept;

    /// Encrypts `n` bytes: returns `n`, or 0 when not writable().
    std::size_t write_plain(const void* data, std::size_t n);

    /// Gather: encrypts the bytes of a buffer sequence (say, a whole queue of frames) as one
    /// stream, at most `max` of them. Small buffers share TLS records (up to 16 KiB of
    /// plaintext each) instead of paying a record, its 22 bytes and an AEAD pass each. Returns
    /// the bytes taken: all of them up to `max`, or 0 when not writable().
    template <class ConstBufferSequence>
    std::size_t write_plain_from(const ConstBufferSequence& buffers, std::size_t max = SIZE_MAX) {
        if (!begin_plain()) return 0;
        std::size_t total = 0;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers) && total < max; ++it) {
            boost::asio::const_buffer b(*it);
            const std::size_t n = b.size() < max - total ? b.size() : max - total;
            stage_plain(b.data(), n);
            total += n;
        }
        return end_plain() ? total : 0;
    }

    /// Queues close_notify (once). Nothing can be written after it; reading goes on until the
    /// peer's close_notify. Does nothing before the handshake is done or after a failure.
    void shutdown();

    /// Ciphertext waiting to be written: handshake records, alerts, encrypted data.
    std::size_t pending_ciphertext() const noexcept;
    /// The first contiguous piece of it (empty when none).
    std::string_view ciphertext() const noexcept;
    /// All of it as up to `max` buffers, for a gather write: how many were filled.
    std::size_t ciphertext_buffers(boost::asio::const_buffer* out, std::size_t max) const noexcept;
    /// `n` bytes were written to the socket. Frees what they held.
    void consume_ciphertext(std::size_t n);

    // ---- state ----

    tls_state state() const noexcept;
    bool handshake_done() const noexcept;
    bool close_notify_sent() const noexcept;
    /// Why the engine failed (empty unless state() is failed).
    boost::system::error_code error() const noexcept;
    /// The same, with OpenSSL's reason: "TLS handshake failed: no shared cipher".
    const std::string& error_message() const noexcept;

    /// After the handshake: "TLSv1.3", the cipher suite's OpenSSL name, the ALPN protocol
    /// ("" when none), whether a ticket resumed an earlier session, the peer certificate's
    /// subject (RFC 2253; "" when the peer sent none, as clients do here).
    std::string_view protocol() const noexcept;
    std::string_view cipher() const noexcept;
    std::string_view alpn() const noexcept;
    bool session_reused() const noexcept;
    std::string peer_certificate_subject() const;

    /// Heap bytes held in the engine's own buffers now (queued ciphertext, unread input);
    /// OpenSSL's are not counted.
    std::size_t buffered_bytes() const noexcept;

    /// The SSL object (an SSL*), for what this class does not wrap.
    ssl_st* native_handle() const noexcept;

  private:
    struct impl;

    bool begin_plain();
    void stage_plain(const void* data, std::size_t n);
    bool end_plain();

    std::unique_ptr<impl> impl_;
};

}  // namespace wsgate
