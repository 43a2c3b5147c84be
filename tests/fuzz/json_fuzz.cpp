// libFuzzer target: the JSON reader every input goes through, json_input::check() and
// read_object(), against nlohmann's parser as a second opinion.
//
// Checks: the two agree on what is JSON, except for what json_input does on purpose (numbers
// beyond a double are valid; a member named twice and nesting past the limit are refused);
// every member's text is itself JSON and a piece of the input; reading a member's object again
// from its text gives the same result; no input crashes or recurses (deep nesting included).

#include <wsgate/json/json_reader.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

namespace in = wsgate::json_input;
using nlohmann::json;

namespace {

constexpr std::size_t depth = 64;

// What nlohmann says of `text`: 1 JSON, 0 not JSON, -1 JSON with a number it cannot hold.
int nlohmann_verdict(std::string_view text) {
    try {
        (void)json::parse(text);
        return 1;
    } catch (const json::out_of_range&) {
        return -1;  // e.g. 1e400: "number overflow"
    } catch (const json::exception&) {
        return 0;
    }
}

// nlohmann's nesting depth of a document it accepts, counted iteratively.
std::size_t nesting(std::string_view text) {
    std::size_t deepest = 0, current = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++current);
        } else if (c == ']' || c == '}') {
            --current;
        }
    }
    return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto checked = in::check(text, depth);
    // nlohmann skips a UTF-8 byte order mark; the gateway does not (RFC 8259 8.1: senders must
    // not add one), so only the text after it can be compared.
    // nlohmann also stops at a NUL byte, taking what came before for the whole text.
    const bool bom = text.substr(0, 3) == "\xEF\xBB\xBF";
    const bool nul = text.find('\0') != std::string_view::npos;
    const int theirs = bom || nul ? 0 : json::accept(text) ? 1 : nlohmann_verdict(text);
    if (!checked) {
        FUZZ_CHECK(nesting(text) <= depth);
        FUZZ_CHECK(theirs != 0);  // JSON here is JSON there (or a number nlohmann cannot hold)
    } else if (checked->what == in::fault::too_deep) {
        FUZZ_CHECK(nesting(text) > depth);
    } else {
        FUZZ_CHECK(checked->what == in::fault::invalid);
        FUZZ_CHECK(theirs != 1);
    }

    const auto read = in::read_object(text, depth);
    if (const auto* doc = std::get_if<in::object>(&read)) {
        FUZZ_CHECK(!checked);
        for (const auto& m : doc->members) {
            FUZZ_CHECK(!in::check(m.value.text, depth));
            FUZZ_CHECK(m.value.text.data() >= text.data() &&
                       m.value.text.data() + m.value.text.size() <= text.data() + text.size());
            if (m.value.type == in::kind::object) {
                const auto again = in::read_object(m.value.text, depth - 1);
                // Valid, within the depth; only a repeated member inside can refuse it.
                if (const auto* e = std::get_if<in::error>(&again))
                    FUZZ_CHECK(e->what == in::fault::duplicate_key);
            }
        }
    } else if (!checked) {
        const auto& e = std::get<in::error>(read);
        FUZZ_CHECK(e.what == in::fault::wrong_type || e.what == in::fault::duplicate_key);
    }
    return 0;
}
