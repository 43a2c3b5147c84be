#include "ws_frame.hpp"

#include <random>

namespace wsgate_bench {

namespace {

std::mt19937& random_engine() {
    static std::mt19937 engine{std::random_device{}()};
    return engine;
}

std::string base64(const unsigned char* data, std::size_t size) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < size; i += 3) {
        const std::uint32_t chunk = (std::uint32_t(data[i]) << 16) |
                                    (i + 1 < size ? std::uint32_t(data[i + 1]) << 8 : 0) |
                                    (i + 2 < size ? std::uint32_t(data[i + 2]) : 0);
        out += alphabet[(chunk >> 18) & 63];
        out += alphabet[(chunk >> 12) & 63];
        out += i + 1 < size ? alphabet[(chunk >> 6) & 63] : '=';
        out += i + 2 < size ? alphabet[chunk & 63] : '=';
    }
    return out;
}

}  // namespace

void frame_reader::reset() {
    tail_.clear();
    fragments_.clear();
    fragmented_opcode_ = 0;
}

std::string masked_frame(ws_opcode opcode, std::string_view payload) {
    std::string frame;
    frame.reserve(payload.size() + 14);
    frame += char(0x80 | opcode);
    const std::uint64_t length = payload.size();
    if (length < 126) {
        frame += char(0x80 | length);
    } else if (length <= 0xFFFF) {
        frame += char(0x80 | 126);
        frame += char(length >> 8);
        frame += char(length & 0xFF);
    } else {
        frame += char(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) frame += char((length >> shift) & 0xFF);
    }
    const std::uint32_t key = random_engine()();
    char mask[4];
    for (int i = 0; i < 4; ++i) mask[i] = char((key >> (8 * i)) & 0xFF);
    frame.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) frame += char(payload[i] ^ mask[i % 4]);
    return frame;
}

std::string upgrade_request(const std::string& host_port, const std::string& path) {
    unsigned char key[16];
    for (auto& byte : key) byte = static_cast<unsigned char>(random_engine()() & 0xFF);
    return "GET " + path + " HTTP/1.1\r\nHost: " + host_port +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
           base64(key, sizeof key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

}  // namespace wsgate_bench
