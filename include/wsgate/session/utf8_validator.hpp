#pragma once

#include <cstdint>
#include <string_view>

namespace wsgate {

/// Checks that bytes are well-formed UTF-8 (Unicode 15, table 3-7: no overlong forms, no
/// surrogates, nothing above U+10FFFF), fed in pieces: a character may straddle two feeds (two
/// reads, or two fragments of one WebSocket message). I/O-free.
class utf8_validator {
public:
    /// False as soon as the bytes so far cannot be the start of valid UTF-8; stays false.
    bool feed(std::string_view bytes) noexcept;
    /// True when the bytes fed so far end on a character boundary (a message may end here).
    bool complete() const noexcept { return need_ == 0; }
    void reset() noexcept { *this = utf8_validator(); }

    /// Whole-text check.
    static bool valid(std::string_view text) noexcept {
        utf8_validator v;
        return v.feed(text) && v.complete();
    }

private:
    std::uint8_t need_ = 0;     // continuation bytes still expected
    std::uint8_t lower_ = 0x80;  // range allowed for the next continuation byte
    std::uint8_t upper_ = 0xbf;
    bool failed_ = false;
};

}  // namespace wsgate
