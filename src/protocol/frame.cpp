#include <wsgate/protocol/frame.hpp>

#include <wsgate/protocol/permessage_deflate.hpp>

namespace wsgate {

namespace {

// RFC 6455 5.5: control frames carry at most 125 bytes; a close frame's code takes 2 of them.
constexpr std::size_t max_close_reason = 123;

// FIN, RSV1, opcode, then the 7-bit length, or 126 + 16-bit, or 127 + 64-bit (network order).
void append_header(std::string& out, ws_opcode opcode, std::size_t n, bool rsv1) {
    out.push_back(static_cast<char>(0x80 | (rsv1 ? 0x40 : 0) | static_cast<int>(opcode)));
    if (n < 126) {
        out.push_back(static_cast<char>(n));
    } else if (n <= 0xffff) {
        out.push_back(static_cast<char>(126));
        for (int shift = 8; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((n >> shift) & 0xff));
    } else {
        out.push_back(static_cast<char>(127));
        const auto n64 = static_cast<std::uint64_t>(n);
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((n64 >> shift) & 0xff));
    }
}

}  // namespace

std::size_t text_frame_header_size(std::size_t payload_size) {
    if (payload_size < 126) return 2;
    if (payload_size <= 0xffff) return 4;
    return 10;
}

frame_ptr make_frame(ws_opcode opcode, std::string_view payload, bool rsv1) {
    const std::size_t header = text_frame_header_size(payload.size());
    std::string wire;
    wire.reserve(header + payload.size());
    append_header(wire, opcode, payload.size(), rsv1);
    wire.append(payload);
    return std::make_shared<const wire_frame>(std::move(wire), header);
}

frame_ptr make_text_frame(std::string_view payload) { return make_frame(ws_opcode::text, payload); }

frame_ptr make_close_frame(std::uint16_t code, std::string_view reason) {
    if (code == 0) return make_frame(ws_opcode::close, {});
    if (reason.size() > max_close_reason) {
        reason = reason.substr(0, max_close_reason);
        // Do not end inside a multi-byte character: drop trailing continuation bytes and the
        // lead byte they belong to.
        std::size_t end = reason.size();
        while (end > 0 && (static_cast<unsigned char>(reason[end - 1]) & 0xc0) == 0x80) --end;
        if (end > 0 && static_cast<unsigned char>(reason[end - 1]) >= 0xc0) --end;
        if (end < reason.size()) reason = reason.substr(0, end);
    }
    std::string payload;
    payload.reserve(2 + reason.size());
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xff));
    payload.append(reason);
    return make_frame(ws_opcode::close, payload);
}

frame_ptr wire_frame::deflated(int window_bits, std::size_t min_payload) const {
    for (const auto& [bits, compressed] : deflated_)
        if (bits == window_bits) return compressed;
    frame_ptr compressed;
    const std::string_view plain = payload();
    if (plain.size() >= min_payload) {
        std::string out;
        deflate_message(plain, window_bits, out);
        if (out.size() < plain.size()) compressed = make_frame(ws_opcode::text, out, true);
    }
    deflated_.emplace_back(window_bits, std::move(compressed));
    return deflated_.back().second;
}

}  // namespace wsgate
