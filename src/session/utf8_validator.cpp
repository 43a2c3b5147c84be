#include <wsgate/session/utf8_validator.hpp>

#include <cstring>

namespace wsgate {

bool utf8_validator::feed(std::string_view bytes) noexcept {
    if (failed_) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* const end = p + bytes.size();
    while (p < end) {
        if (need_ == 0) {
            // ASCII runs, eight bytes at a time.
            while (end - p >= 8) {
                std::uint64_t word;
                std::memcpy(&word, p, sizeof word);
                if ((word & 0x8080808080808080ull) != 0) break;
                p += 8;
            }
            if (p == end) break;
            const unsigned char c = *p++;
            if (c < 0x80) continue;
            lower_ = 0x80;
            upper_ = 0xbf;
            if (c >= 0xc2 && c <= 0xdf) {
                need_ = 1;
            } else if (c >= 0xe0 && c <= 0xef) {
                need_ = 2;
                if (c == 0xe0) lower_ = 0xa0;  // overlong
                if (c == 0xed) upper_ = 0x9f;  // surrogates
            } else if (c >= 0xf0 && c <= 0xf4) {
                need_ = 3;
                if (c == 0xf0) lower_ = 0x90;  // overlong
                if (c == 0xf4) upper_ = 0x8f;  // above U+10FFFF
            } else {
                failed_ = true;  // a continuation byte, C0/C1, or F5..FF
                return false;
            }
            continue;
        }
        const unsigned char c = *p++;
        if (c < lower_ || c > upper_) {
            failed_ = true;
            return false;
        }
        lower_ = 0x80;
        upper_ = 0xbf;
        --need_;
    }
    return true;
}

}  // namespace wsgate
