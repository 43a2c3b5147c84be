#include <wsgate/session/ws_frame_parser.hpp>

#include <algorithm>
#include <cstring>

#include <wsgate/protocol/permessage_deflate.hpp>

namespace wsgate {

namespace {

constexpr std::size_t max_control_payload = 125;

// Bytes of the header whose second byte is `b1`: 2, the extended length, and the mask key.
std::size_t header_length(unsigned char b1) {
    const unsigned len7 = b1 & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) != 0 ? 4 : 0);
}

bool is_control(ws_opcode op) { return (static_cast<unsigned>(op) & 0x8) != 0; }

// Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry): 1004-1006 and 1015 are
// reserved for reporting and never appear on the wire.
bool valid_close_code(std::uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

// Where inflated messages go; one per thread, reused.
std::string& inflate_buffer() {
    thread_local std::string buffer;
    return buffer;
}

// Gives back the memory of a string that held a message, so an idle connection holds none.
void release(std::string& s) {
    if (s.capacity() > std::string().capacity())
        std::string().swap(s);
    else
        s.clear();
}

}  // namespace

bool ws_frame_parser::fail(std::uint16_t code, const char* reason) {
    error_code_ = code;
    error_reason_ = reason;
    return false;
}

void ws_frame_parser::unmask(char* p, std::size_t n) {
    // The key rotated to start at the current offset, twice: eight bytes at a time.
    unsigned char key[8];
    for (std::size_t i = 0; i < 8; ++i) key[i] = mask_[(mask_offset_ + i) & 3];
    std::uint64_t key64;
    std::memcpy(&key64, key, sizeof key64);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, p + i, sizeof word);
        word ^= key64;
        std::memcpy(p + i, &word, sizeof word);
    }
    for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 7]);
    mask_offset_ = static_cast<std::uint8_t>((mask_offset_ + n) & 3);
}

bool ws_frame_parser::parse(char* data, std::size_t size, handler& h) {
    for (;;) {
        if (error_code_ != 0) return false;
        if (closed_) return true;
        if (!in_payload_) {
            if (size == 0) return true;
            const unsigned char* header = nullptr;
            std::size_t length = 0;
            if (header_size_ == 0 && size >= 2 &&
                size >= header_length(static_cast<unsigned char>(data[1]))) {
                // The usual case: the whole header is in this read.
                header = reinterpret_cast<const unsigned char*>(data);
                length = header_length(header[1]);
            } else {
                // Gather the header across reads.
                while (size > 0 && (header_size_ < 2 || header_size_ < header_length(header_[1]))) {
                    header_[header_size_++] = static_cast<unsigned char>(*data++);
                    --size;
                }
                if (header_size_ < 2 || header_size_ < header_length(header_[1])) return true;
                header = header_;
                length = header_size_;
                header_size_ = 0;
            }
            if (!begin_frame(header, length)) return false;
            if (header != header_) {
                data += length;
                size -= length;
            }
        }
        // The payload (possibly empty) of the current frame, as far as this read holds it.
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size));
        const bool first_piece = remaining_ == frame_size_;
        unmask(data, n);
        remaining_ -= n;
        const bool done = remaining_ == 0;
        if (done && first_piece) {
            in_payload_ = false;
            if (!end_frame(data, true, h)) return false;
        } else {
            if (!take_payload(data, n)) return false;
            if (done) {
                in_payload_ = false;
                if (!end_frame(nullptr, false, h)) return false;
            }
        }
        data += n;
        size -= n;
        if (size == 0 && in_payload_) return true;
    }
}

bool ws_frame_parser::begin_frame(const unsigned char* h, std::size_t header_size) {
    const bool fin = (h[0] & 0x80) != 0;
    const bool rsv1 = (h[0] & 0x40) != 0;
    if ((h[0] & 0x30) != 0) return fail(1002, "reserved bits set");
    const auto opcode = static_cast<ws_opcode>(h[0] & 0x0f);
    if ((h[1] & 0x80) == 0) return fail(1002, "client frames must be masked");
    std::uint64_t length = h[1] & 0x7f;
    if (length == 126) {
        length = (std::uint64_t{h[2]} << 8) | h[3];
        if (length < 126) return fail(1002, "frame length not minimally encoded");
    } else if (length == 127) {
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | h[i];
        if ((length >> 63) != 0) return fail(1002, "frame length out of range");
        if (length <= 0xffff) return fail(1002, "frame length not minimally encoded");
    }
    std::memcpy(mask_, h + header_size - 4, 4);

    switch (opcode) {
        case ws_opcode::close:
        case ws_opcode::ping:
        case ws_opcode::pong:
            if (!fin) return fail(1002, "fragmented control frame");
            if (length > max_control_payload) return fail(1002, "control frame over 125 bytes");
            if (rsv1) return fail(1002, "reserved bits set");
            break;
        case ws_opcode::continuation:
            if (message_opcode_ == ws_opcode::continuation)
                return fail(1002, "continuation frame without a message");
            if (rsv1) return fail(1002, "reserved bits set");
            break;
        case ws_opcode::text:
        case ws_opcode::binary:
            if (message_opcode_ != ws_opcode::continuation)
                return fail(1002, "new message before the last one ended");
            if (rsv1 && !compressed_ok_) return fail(1002, "reserved bits set");
            message_opcode_ = opcode;
            message_compressed_ = rsv1;
            break;
        default:
            return fail(1002, "unknown opcode");
    }
    if (!is_control(opcode)) {
        if (length > max_message_ - message_size_) return fail(1009, "message too big");
        message_size_ += static_cast<std::size_t>(length);
    }
    frame_opcode_ = opcode;
    frame_fin_ = fin;
    frame_size_ = remaining_ = length;
    mask_offset_ = 0;
    in_payload_ = true;
    return true;
}

bool ws_frame_parser::take_payload(const char* p, std::size_t n) {
    if (n == 0) return true;
    if (is_control(frame_opcode_)) {
        control_.append(p, n);
        return true;
    }
    if (message_opcode_ == ws_opcode::text && !message_compressed_ &&
        !utf8_.feed(std::string_view(p, n)))
        return fail(1007, "invalid UTF-8 in a text message");
    message_.append(p, n);
    return true;
}

bool ws_frame_parser::end_frame(const char* whole, bool in_one_piece, handler& h) {
    const auto size = static_cast<std::size_t>(frame_size_);
    if (is_control(frame_opcode_)) {
        if (in_one_piece) return control_frame(std::string_view(whole, size), h);
        const bool ok = control_frame(control_, h);
        release(control_);
        return ok;
    }
    if (in_one_piece) {
        if (frame_fin_ && message_.empty()) {
            // A message that arrived whole: passed on from the read buffer, never copied.
            if (message_opcode_ == ws_opcode::text && !message_compressed_ &&
                !utf8_.feed(std::string_view(whole, size)))
                return fail(1007, "invalid UTF-8 in a text message");
            return end_message(std::string_view(whole, size), h);
        }
        if (!take_payload(whole, size)) return false;
    }
    if (!frame_fin_) return true;
    const bool ok = end_message(message_, h);
    release(message_);
    return ok;
}

bool ws_frame_parser::end_message(std::string_view payload, handler& h) {
    const ws_opcode opcode = message_opcode_;
    const bool compressed = message_compressed_;
    message_opcode_ = ws_opcode::continuation;
    message_compressed_ = false;
    message_size_ = 0;
    const bool utf8_complete = utf8_.complete();
    utf8_.reset();
    if (compressed) {
        std::string& inflated = inflate_buffer();
        switch (inflate_message(payload, max_message_, inflated)) {
            case inflate_result::too_big: return fail(1009, "message too big");
            case inflate_result::corrupt: return fail(1007, "invalid compressed data");
            case inflate_result::ok: break;
        }
        if (opcode == ws_opcode::text && !utf8_validator::valid(inflated))
            return fail(1007, "invalid UTF-8 in a text message");
        h.on_message(opcode, inflated);
        return error_code_ == 0;
    }
    if (opcode == ws_opcode::text && !utf8_complete)
        return fail(1007, "invalid UTF-8 in a text message");
    h.on_message(opcode, payload);
    return error_code_ == 0;
}

bool ws_frame_parser::control_frame(std::string_view payload, handler& h) {
    switch (frame_opcode_) {
        case ws_opcode::ping: h.on_ping(payload); break;
        case ws_opcode::pong: h.on_pong(payload); break;
        default: {
            if (payload.size() == 1) return fail(1002, "close frame of one byte");
            std::uint16_t code = 0;
            std::string_view reason;
            if (payload.size() >= 2) {
                code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                  static_cast<unsigned char>(payload[1]));
                if (!valid_close_code(code)) return fail(1002, "invalid close code");
                reason = payload.substr(2);
                if (!utf8_validator::valid(reason))
                    return fail(1007, "invalid UTF-8 in a close reason");
            }
            closed_ = true;
            h.on_close(code, reason);
        }
    }
    return true;
}

}  // namespace wsgate
