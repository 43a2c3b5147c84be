#pragma once

namespace wsgate_bench {

template <class OnMessage>
bool frame_reader::feed(const char* data, std::size_t size, OnMessage&& on_message) {
    std::size_t consumed = 0;
    if (tail_.empty()) {
        if (!parse_all(data, size, consumed, on_message)) return false;
        tail_.assign(data + consumed, size - consumed);
        return true;
    }
    tail_.append(data, size);
    if (!parse_all(tail_.data(), tail_.size(), consumed, on_message)) return false;
    tail_.erase(0, consumed);
    return true;
}

template <class OnMessage>
bool frame_reader::parse_all(const char* data, std::size_t size, std::size_t& consumed,
                             OnMessage& on_message) {
    while (consumed < size) {
        const long used = parse_frame(data + consumed, size - consumed, on_message);
        if (used < 0) return false;
        if (used == 0) break;
        consumed += std::size_t(used);
    }
    return true;
}

template <class OnMessage>
long frame_reader::parse_frame(const char* data, std::size_t size, OnMessage& on_message) {
    if (size < 2) return 0;
    const auto* bytes = reinterpret_cast<const unsigned char*>(data);
    const bool fin = (bytes[0] & 0x80) != 0;
    const auto opcode = static_cast<std::uint8_t>(bytes[0] & 0x0F);
    if ((bytes[1] & 0x80) != 0) return -1;  // servers never mask
    std::uint64_t length = bytes[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
        if (size < 4) return 0;
        length = (std::uint64_t(bytes[2]) << 8) | bytes[3];
        header = 4;
    } else if (length == 127) {
        if (size < 10) return 0;
        length = 0;
        for (int i = 2; i < 10; ++i) length = (length << 8) | bytes[i];
        header = 10;
        if (length > (std::uint64_t(1) << 62)) return -1;
    }
    if (size - header < length) return 0;
    const std::string_view payload(data + header, std::size_t(length));
    const bool control = (opcode & 0x08) != 0;
    if (control) {
        on_message(opcode, payload);
    } else if (opcode == op_continuation) {
        if (fragmented_opcode_ == 0) return -1;
        fragments_.append(payload);
        if (fin) {
            on_message(fragmented_opcode_, std::string_view(fragments_));
            fragments_.clear();
            fragmented_opcode_ = 0;
        }
    } else if (fin) {
        on_message(opcode, payload);
    } else {
        fragmented_opcode_ = opcode;
        fragments_.assign(payload);
    }
    return long(header + length);
}

}  // namespace wsgate_bench
