#include <wsgate/protocol/permessage_deflate.hpp>

#include <zlib.h>

#include <array>
#include <memory>
#include <vector>

namespace wsgate {

namespace {

// The empty stored block that ends every flushed message (RFC 7692 7.2.1).
constexpr std::string_view flush_tail("\x00\x00\xff\xff", 4);
// Output is produced in steps of this many bytes while inflating.
constexpr std::size_t inflate_step = 4096;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Splits `s` at `sep` outside double quotes; calls f(part) with each part trimmed.
template <class F>
void split_outside_quotes(std::string_view s, char sep, F&& f) {
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i < s.size() && s[i] == '"') quoted = !quoted;
        if (i == s.size() || (!quoted && s[i] == sep)) {
            f(trim(s.substr(start, i - start)));
            start = i + 1;
        }
    }
}

// 8..15 from a parameter value ("10" or "\"10\""); -1 for anything else. RFC 7692 7.1.2.1 and
// 7.1.2.2: 1*DIGIT without a leading zero, so "09" is no value at all.
int window_bits(std::string_view value) {
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
    if (value.empty() || value.size() > 2 || value.front() == '0') return -1;
    int n = 0;
    for (char c : value) {
        if (c < '0' || c > '9') return -1;
        n = n * 10 + (c - '0');
    }
    return n >= 8 && n <= 15 ? n : -1;
}

// One permessage-deflate offer's parameters (after the name); nullopt when declined.
std::optional<deflate_params> accept_offer(std::optional<std::string_view> params) {
    deflate_params accepted;
    // A bare offer (Firefox sends one): the defaults, a window of 15 bits.
    if (!params) return accepted;
    bool seen_server_nct = false, seen_client_nct = false, seen_server_bits = false,
         seen_client_bits = false, ok = true;
    split_outside_quotes(*params, ';', [&](std::string_view param) {
        if (!ok || param.empty()) {
            ok = ok && !param.empty();
            return;
        }
        const auto eq = param.find('=');
        const std::string_view name = trim(param.substr(0, eq));
        const bool has_value = eq != std::string_view::npos;
        const std::string_view value = has_value ? trim(param.substr(eq + 1)) : std::string_view();
        auto once = [&ok](bool& seen) {
            ok = ok && !seen;
            seen = true;
        };
        if (iequals(name, "server_no_context_takeover")) {
            once(seen_server_nct);
            ok = ok && !has_value;
        } else if (iequals(name, "client_no_context_takeover")) {
            once(seen_client_nct);
            ok = ok && !has_value;
        } else if (iequals(name, "server_max_window_bits")) {
            once(seen_server_bits);
            const int bits = window_bits(value);
            // zlib's raw deflate cannot keep to a 256-byte window.
            ok = ok && has_value && bits >= 9;
            accepted.server_window_bits = bits;
        } else if (iequals(name, "client_max_window_bits")) {
            // Any window the client picks is within the 32 KiB window wsgate inflates with.
            once(seen_client_bits);
            ok = ok && (!has_value || window_bits(value) > 0);
        } else {
            ok = false;
        }
    });
    if (!ok) return std::nullopt;
    return accepted;
}

// One zlib compressor per window size and thread, reset between messages (no context
// takeover): setting one up costs far more than compressing a small message.
class deflater {
public:
    explicit deflater(int bits) {
        stream_.zalloc = Z_NULL;
        stream_.zfree = Z_NULL;
        stream_.opaque = Z_NULL;
        ok_ = deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8,
                           Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~deflater() {
        if (ok_) deflateEnd(&stream_);
    }
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;

    void compress(std::string_view in, std::string& out) {
        out.clear();
        if (!ok_) return;
        deflateReset(&stream_);
        // Enough for the sync flush in one call: deflateBound() plus the flush marker.
        out.resize(deflateBound(&stream_, static_cast<uLong>(in.size())) + 16);
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        stream_.avail_in = static_cast<uInt>(in.size());
        stream_.next_out = reinterpret_cast<Bytef*>(out.data());
        stream_.avail_out = static_cast<uInt>(out.size());
        deflate(&stream_, Z_SYNC_FLUSH);
        out.resize(out.size() - stream_.avail_out);
        if (out.size() >= flush_tail.size() &&
            std::string_view(out).substr(out.size() - flush_tail.size()) == flush_tail)
            out.resize(out.size() - flush_tail.size());
    }

private:
    z_stream stream_{};
    bool ok_ = false;
};

class inflater {
public:
    inflater() {
        stream_.zalloc = Z_NULL;
        stream_.zfree = Z_NULL;
        stream_.opaque = Z_NULL;
        ok_ = inflateInit2(&stream_, -15) == Z_OK;
    }
    ~inflater() {
        if (ok_) inflateEnd(&stream_);
    }
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;

    inflate_result run(std::string_view in, std::size_t max_size, std::string& out) {
        out.clear();
        if (!ok_) return inflate_result::corrupt;
        inflateReset(&stream_);
        // The message, then the flush marker the sender removed.
        for (std::string_view part : {in, flush_tail}) {
            stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
            stream_.avail_in = static_cast<uInt>(part.size());
            for (;;) {
                const std::size_t used = out.size();
                // One byte beyond the limit tells "too big" from "exactly the limit".
                const std::size_t room = std::min(inflate_step, max_size + 1 - used);
                out.resize(used + room);
                stream_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
                stream_.avail_out = static_cast<uInt>(room);
                const int rc = inflate(&stream_, Z_SYNC_FLUSH);
                const bool full = stream_.avail_out == 0;
                out.resize(out.size() - stream_.avail_out);
                if (out.size() > max_size) return inflate_result::too_big;
                if (rc == Z_STREAM_END) return inflate_result::ok;  // a final block: done
                if (rc != Z_OK && rc != Z_BUF_ERROR) return inflate_result::corrupt;
                if (full) continue;  // more output may be pending
                if (stream_.avail_in == 0) break;
                return inflate_result::corrupt;  // input left, room left, and no progress
            }
        }
        return inflate_result::ok;
    }

private:
    z_stream stream_{};
    bool ok_ = false;
};

}  // namespace

std::optional<deflate_params> negotiate_permessage_deflate(std::string_view extensions) {
    std::optional<deflate_params> chosen;
    split_outside_quotes(extensions, ',', [&chosen](std::string_view offer) {
        if (chosen) return;
        const auto semi = offer.find(';');
        if (!iequals(trim(offer.substr(0, semi)), "permessage-deflate")) return;
        chosen = accept_offer(semi == std::string_view::npos
                                  ? std::nullopt
                                  : std::optional<std::string_view>(offer.substr(semi + 1)));
    });
    return chosen;
}

std::string permessage_deflate_response(const deflate_params& params) {
    std::string out = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    if (params.server_window_bits < 15)
        out += "; server_max_window_bits=" + std::to_string(params.server_window_bits);
    return out;
}

void deflate_message(std::string_view payload, int window_bits, std::string& out) {
    thread_local std::array<std::unique_ptr<deflater>, 16> deflaters;
    auto& d = deflaters[static_cast<std::size_t>(window_bits & 15)];
    if (!d) d = std::make_unique<deflater>(window_bits);
    d->compress(payload, out);
}

inflate_result inflate_message(std::string_view compressed, std::size_t max_size,
                               std::string& out) {
    thread_local inflater one;
    return one.run(compressed, max_size, out);
}

}  // namespace wsgate
