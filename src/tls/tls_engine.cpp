#include <wsgate/tls/tls_context.hpp>
#include <wsgate/tls/tls_engine.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <vector>

#include "openssl_error.hpp"

namespace wsgate {

namespace {

// The most plaintext one TLS record carries.
constexpr std::size_t record_plain = 16 * 1024;
// Output chunks start small (an idle connection's answer to a ping is a few dozen bytes) and
// grow while a burst lasts.
constexpr std::size_t min_chunk = 512;
constexpr std::size_t max_chunk = 32 * 1024;
// SSL_write_ex takes a size_t, but stay well inside what every OpenSSL path handles.
constexpr std::size_t max_write = std::size_t{1} << 30;

// Where small buffers of one gather write meet to share records; one per thread, used only
// within one write_plain call.
thread_local std::array<char, record_plain> staging;

std::string printable_prefix(const unsigned char* p, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n && i < 40 && p[i] != '\r' && p[i] != '\n'; ++i)
        out += (p[i] >= 0x20 && p[i] < 0x7f) ? static_cast<char>(p[i]) : '.';
    return out;
}

}  // namespace

struct tls_engine::impl {
    struct chunk {
        std::unique_ptr<char[]> data;
        std::size_t size = 0;
        std::size_t cap = 0;
    };

    SSL* ssl = nullptr;
    tls_limits limits;
    bool client = false;
    bool started = false;
    bool first_byte_seen = false;
    bool handshake_done = false;
    bool close_sent = false;
    tls_state state = tls_state::handshaking;
    boost::system::error_code error;
    std::string message;

    // Ciphertext fed and not yet read by OpenSSL: in[in_pos, in.size()).
    std::string in;
    std::size_t in_pos = 0;

    // Ciphertext to write: out[0] from out_pos, then the other chunks whole.
    std::vector<chunk> out;
    std::size_t out_pos = 0;
    std::size_t out_bytes = 0;
    // Output queued while OpenSSL processed the peer's input, since the output was last empty.
    bool replying = false;
    std::size_t reply_bytes = 0;

    std::size_t staged = 0;  // bytes in `staging` during a write_plain call

    ~impl() { SSL_free(ssl); }  // frees the BIO too

    void fail(tls_errc code, std::string why) {
        if (state == tls_state::failed) return;
        state = tls_state::failed;
        error = code;
        message = std::move(why);
        std::string().swap(in);
        in_pos = 0;
    }

    // A TLS client opens with a handshake record (content type 22); old SSLv2-style hellos
    // have the top bit set. No TLS record starts with a letter: that is a plaintext protocol,
    // most likely HTTP sent to the wrong port.
    bool check_first_byte(const unsigned char* p, std::size_t n) {
        const unsigned char b = p[0];
        if (b >= 0x14 && b <= 0x18) return true;
        if (b >= 0x80) return true;
        if (b >= 'A' && b <= 'Z') {
            fail(tls_errc::plain_http,
                 "not TLS: looks like plain HTTP (\"" + printable_prefix(p, n) + "\")");
        } else {
            static const char hex[] = "0123456789abcdef";
            fail(tls_errc::not_tls,
                 std::string("not TLS: the first byte is 0x") + hex[b >> 4] + hex[b & 15]);
        }
        return false;
    }

    std::string reason(int ssl_error) {
        if (ssl_error == SSL_ERROR_SSL) {
            std::string r = detail::openssl_reason();
            if (client && SSL_get_verify_result(ssl) != X509_V_OK)
                r += std::string(" (") + X509_verify_cert_error_string(SSL_get_verify_result(ssl)) +
                     ")";
            return r;
        }
        ERR_clear_error();
        if (ssl_error == SSL_ERROR_ZERO_RETURN) return "the peer closed during the handshake";
        if (ssl_error == SSL_ERROR_SYSCALL) return "unexpected end of input";
        return "OpenSSL error " + std::to_string(ssl_error);
    }

    void handshake() {
        ERR_clear_error();
        replying = true;
        const int r = SSL_do_handshake(ssl);
        replying = false;
        if (r == 1) {
            state = tls_state::open;
            handshake_done = true;
            return;
        }
        const int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ) return;
        fail(tls_errc::handshake_failed, "TLS handshake failed: " + reason(err));
    }

    void check_reply() {
        if (reply_bytes > limits.max_reply)
            fail(tls_errc::overflow, "TLS peer sends without reading: " +
                                         std::to_string(reply_bytes) + " bytes of answers queued");
    }

    void encrypt(const char* p, std::size_t n) {
        while (n > 0 && state == tls_state::open) {
            const std::size_t k = std::min(n, max_write);
            std::size_t written = 0;
            ERR_clear_error();
            if (SSL_write_ex(ssl, p, k, &written) != 1) {
                const int err = SSL_get_error(ssl, 0);
                fail(tls_errc::protocol_error, "TLS write failed: " + reason(err));
                return;
            }
            p += written;
            n -= written;
        }
    }

    void append_output(const char* p, std::size_t n) {
        if (replying) reply_bytes += n;
        out_bytes += n;
        if (!out.empty()) {
            chunk& c = out.back();
            const std::size_t k = std::min(n, c.cap - c.size);
            std::memcpy(c.data.get() + c.size, p, k);
            c.size += k;
            p += k;
            n -= k;
        }
        if (n == 0) return;
        const std::size_t grown = out.empty() ? min_chunk : std::min(out.back().cap * 2, max_chunk);
        const std::size_t cap = std::max(n, grown);
        chunk c{std::unique_ptr<char[]>(new char[cap]), n, cap};
        std::memcpy(c.data.get(), p, n);
        out.push_back(std::move(c));
    }

    // ---- the BIO OpenSSL reads from and writes to: this engine's buffers ----

    static impl* of(BIO* b) { return static_cast<impl*>(BIO_get_data(b)); }

    static int bio_write(BIO* b, const char* data, std::size_t n, std::size_t* written) {
        BIO_clear_retry_flags(b);
        of(b)->append_output(data, n);
        *written = n;
        return 1;
    }

    static int bio_read(BIO* b, char* data, std::size_t n, std::size_t* read) {
        BIO_clear_retry_flags(b);
        impl* e = of(b);
        const std::size_t available = e->in.size() - e->in_pos;
        if (available == 0) {
            BIO_set_retry_read(b);
            *read = 0;
            return 0;
        }
        const std::size_t k = std::min(n, available);
        std::memcpy(data, e->in.data() + e->in_pos, k);
        e->in_pos += k;
        if (e->in_pos == e->in.size()) {
            std::string().swap(e->in);  // give the memory back: idle connections hold nothing
            e->in_pos = 0;
        }
        *read = k;
        return 1;
    }

    static long bio_ctrl(BIO* b, int cmd, long, void*) {
        switch (cmd) {
            case BIO_CTRL_FLUSH:
                return 1;
            case BIO_CTRL_PENDING:
                return static_cast<long>(of(b)->in.size() - of(b)->in_pos);
            case BIO_CTRL_WPENDING:
                return static_cast<long>(of(b)->out_bytes);
            default:
                return 0;
        }
    }

    static int bio_create(BIO* b) {
        BIO_set_init(b, 1);
        return 1;
    }

    static BIO_METHOD* bio_method() {
        // Made once and kept for the life of the process.
        static BIO_METHOD* const method = [] {
            BIO_METHOD* m =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsgate tls engine");
            if (m == nullptr) return m;
            BIO_meth_set_write_ex(m, bio_write);
            BIO_meth_set_read_ex(m, bio_read);
            BIO_meth_set_ctrl(m, bio_ctrl);
            BIO_meth_set_create(m, bio_create);
            return m;
        }();
        return method;
    }
};

tls_engine::tls_engine(const tls_context& ctx, std::string_view server_name, tls_limits limits)
    : impl_(std::make_unique<impl>()) {
    impl& e = *impl_;
    e.limits = limits;
    e.client = ctx.is_client();
    ERR_clear_error();
    BIO_METHOD* method = impl::bio_method();
    e.ssl = method != nullptr ? SSL_new(ctx.native_handle()) : nullptr;
    BIO* bio = e.ssl != nullptr ? BIO_new(method) : nullptr;
    if (bio == nullptr) {
        e.fail(tls_errc::handshake_failed,
               "TLS handshake failed: cannot create the connection: " + detail::openssl_reason());
        return;
    }
    BIO_set_data(bio, &e);
    SSL_set_bio(e.ssl, bio, bio);  // one BIO both ways: SSL takes the one reference
    if (!e.client) {
        SSL_set_accept_state(e.ssl);
        return;
    }
    SSL_set_connect_state(e.ssl);
    if (!server_name.empty()) {
        const std::string name(server_name);
        SSL_set_tlsext_host_name(e.ssl, name.c_str());
        if ((SSL_get_verify_mode(e.ssl) & SSL_VERIFY_PEER) != 0) SSL_set1_host(e.ssl, name.c_str());
    }
}

tls_engine::tls_engine(tls_engine&&) noexcept = default;
tls_engine& tls_engine::operator=(tls_engine&&) noexcept = default;
tls_engine::~tls_engine() = default;

void tls_engine::start() {
    impl& e = *impl_;
    if (!e.client || e.started || e.state != tls_state::handshaking) return;
    e.started = true;
    e.handshake();
}

void tls_engine::feed(const void* data, std::size_t n) {
    impl& e = *impl_;
    if (n == 0 || e.state == tls_state::failed || e.state == tls_state::closed) return;
    const auto* p = static_cast<const unsigned char*>(data);
    if (!e.client && !e.first_byte_seen) {
        e.first_byte_seen = true;
        if (!e.check_first_byte(p, n)) return;
    }
    const std::size_t held = e.in.size() - e.in_pos;
    if (held + n > e.limits.max_input) {
        e.fail(tls_errc::overflow, "TLS peer sent more than " + std::to_string(e.limits.max_input) +
                                       " bytes that were not read");
        return;
    }
    if (e.in_pos > 0) {
        e.in.erase(0, e.in_pos);
        e.in_pos = 0;
    }
    e.in.append(reinterpret_cast<const char*>(p), n);
    if (e.client && !e.started) start();
    if (e.state == tls_state::handshaking) e.handshake();
    e.check_reply();
}

std::size_t tls_engine::read_plain(void* out, std::size_t max) {
    impl& e = *impl_;
    if (e.state != tls_state::open || max == 0) return 0;
    ERR_clear_error();
    std::size_t n = 0;
    e.replying = true;
    const int r = SSL_read_ex(e.ssl, out, max, &n);
    e.replying = false;
    if (r == 1) {
        e.check_reply();
        return e.state == tls_state::failed ? 0 : n;
    }
    const int err = SSL_get_error(e.ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
        e.check_reply();
    } else if (err == SSL_ERROR_ZERO_RETURN) {
        e.state = tls_state::closed;
    } else {
        e.fail(tls_errc::protocol_error, "TLS protocol error: " + e.reason(err));
    }
    return 0;
}

std::size_t tls_engine::pending_plain() const noexcept {
    return impl_->state == tls_state::open ? static_cast<std::size_t>(SSL_pending(impl_->ssl)) : 0;
}

std::size_t tls_engine::pending_input() const noexcept { return impl_->in.size() - impl_->in_pos; }

bool tls_engine::writable() const noexcept {
    return impl_->state == tls_state::open && !impl_->close_sent;
}

std::size_t tls_engine::write_plain(const void* data, std::size_t n) {
    return write_plain_from(boost::asio::const_buffer(data, n));
}

bool tls_engine::begin_plain() {
    impl_->staged = 0;
    return writable();
}

void tls_engine::stage_plain(const void* data, std::size_t n) {
    impl& e = *impl_;
    const char* p = static_cast<const char*>(data);
    while (n > 0 && e.state == tls_state::open) {
        if (e.staged == 0 && n >= record_plain) {
            // Whole records straight from the caller's memory; the tail waits for company.
            const std::size_t k = n - n % record_plain;
            e.encrypt(p, k);
            p += k;
            n -= k;
            continue;
        }
        const std::size_t k = std::min(n, record_plain - e.staged);
        std::memcpy(staging.data() + e.staged, p, k);
        e.staged += k;
        p += k;
        n -= k;
        if (e.staged == record_plain) {
            e.staged = 0;
            e.encrypt(staging.data(), record_plain);
        }
    }
}

bool tls_engine::end_plain() {
    impl& e = *impl_;
    if (e.staged > 0) {
        const std::size_t n = e.staged;
        e.staged = 0;
        e.encrypt(staging.data(), n);
    }
    return e.state == tls_state::open;
}

void tls_engine::shutdown() {
    impl& e = *impl_;
    if (e.close_sent) return;
    e.close_sent = true;
    if (!e.handshake_done || e.state == tls_state::failed) return;
    ERR_clear_error();
    SSL_shutdown(e.ssl);  // 0: close_notify queued, the peer's still to come; either is fine
    ERR_clear_error();
}

std::size_t tls_engine::pending_ciphertext() const noexcept { return impl_->out_bytes; }

std::string_view tls_engine::ciphertext() const noexcept {
    const impl& e = *impl_;
    if (e.out.empty()) return {};
    const impl::chunk& c = e.out.front();
    return {c.data.get() + e.out_pos, c.size - e.out_pos};
}

std::size_t tls_engine::ciphertext_buffers(boost::asio::const_buffer* out,
                                           std::size_t max) const noexcept {
    const impl& e = *impl_;
    std::size_t i = 0;
    for (; i < max && i < e.out.size(); ++i) {
        const impl::chunk& c = e.out[i];
        const std::size_t skip = i == 0 ? e.out_pos : 0;
        out[i] = boost::asio::const_buffer(c.data.get() + skip, c.size - skip);
    }
    return i;
}

void tls_engine::consume_ciphertext(std::size_t n) {
    impl& e = *impl_;
    n = std::min(n, e.out_bytes);
    e.out_bytes -= n;
    std::size_t drop = 0;  // whole chunks written
    while (n > 0) {
        const impl::chunk& c = e.out[drop];
        const std::size_t k = std::min(n, c.size - e.out_pos);
        e.out_pos += k;
        n -= k;
        if (e.out_pos == c.size) {
            ++drop;
            e.out_pos = 0;
        }
    }
    e.out.erase(e.out.begin(), e.out.begin() + static_cast<std::ptrdiff_t>(drop));
    if (e.out.empty()) {
        std::vector<impl::chunk>().swap(e.out);
        e.out_pos = 0;
        e.reply_bytes = 0;
    }
}

tls_state tls_engine::state() const noexcept { return impl_->state; }
bool tls_engine::handshake_done() const noexcept { return impl_->handshake_done; }
bool tls_engine::close_notify_sent() const noexcept { return impl_->close_sent; }
boost::system::error_code tls_engine::error() const noexcept { return impl_->error; }
const std::string& tls_engine::error_message() const noexcept { return impl_->message; }

std::string_view tls_engine::protocol() const noexcept {
    return impl_->handshake_done ? SSL_get_version(impl_->ssl) : "";
}

std::string_view tls_engine::cipher() const noexcept {
    return impl_->handshake_done ? SSL_get_cipher_name(impl_->ssl) : "";
}

std::string_view tls_engine::alpn() const noexcept {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    if (impl_->ssl != nullptr) SSL_get0_alpn_selected(impl_->ssl, &data, &len);
    return data != nullptr ? std::string_view(reinterpret_cast<const char*>(data), len) : "";
}

bool tls_engine::session_reused() const noexcept {
    return impl_->handshake_done && SSL_session_reused(impl_->ssl) == 1;
}

std::string tls_engine::peer_certificate_subject() const {
    X509* cert = impl_->ssl != nullptr ? SSL_get0_peer_certificate(impl_->ssl) : nullptr;
    if (cert == nullptr) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) return {};
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, n > 0 ? static_cast<std::size_t>(n) : 0);
    BIO_free(bio);
    return out;
}

std::size_t tls_engine::buffered_bytes() const noexcept {
    const impl& e = *impl_;
    std::size_t n = e.in.capacity() > std::string().capacity() ? e.in.capacity() : 0;
    n += e.out.capacity() * sizeof(impl::chunk);
    for (const auto& c : e.out) n += c.cap;
    return n;
}

ssl_st* tls_engine::native_handle() const noexcept { return impl_->ssl; }

}  // namespace wsgate
