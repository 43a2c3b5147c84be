#include <wsgate/protocol/frame.hpp>

#include <cstdint>

namespace wsgate {

std::size_t text_frame_header_size(std::size_t payload_size) {
    if (payload_size < 126) return 2;
    if (payload_size <= 0xffff) return 4;
    return 10;
}

frame_ptr make_text_frame(std::string_view payload) {
    const std::size_t n = payload.size();
    auto frame = std::make_shared<std::string>();
    frame->reserve(text_frame_header_size(n) + n);
    frame->push_back(static_cast<char>(0x81));  // FIN, opcode 1 (text)
    // RFC 6455 5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit, network byte order.
    if (n < 126) {
        frame->push_back(static_cast<char>(n));
    } else if (n <= 0xffff) {
        frame->push_back(static_cast<char>(126));
        for (int shift = 8; shift >= 0; shift -= 8)
            frame->push_back(static_cast<char>((n >> shift) & 0xff));
    } else {
        frame->push_back(static_cast<char>(127));
        const auto n64 = static_cast<std::uint64_t>(n);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame->push_back(static_cast<char>((n64 >> shift) & 0xff));
    }
    frame->append(payload);
    return frame;
}

}  // namespace wsgate
