#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wsgate::json_input {

/// The kind of a JSON value.
enum class kind : std::uint8_t { null, boolean, number, string, array, object };

/// A JSON value exactly as the input spelled it: a view of its bytes in the input, without the
/// whitespace around it. Passing `text` on is how wsgate passes `data` through unchanged.
struct raw_value {
    kind type = kind::null;
    std::string_view text;
};

/// One member of a JSON object.
struct member {
    std::string key;  ///< unescaped
    raw_value value;
    std::string string;  ///< value.type == kind::string: the unescaped string (UTF-8)
    bool boolean = false;  ///< value.type == kind::boolean: its value
};

/// The members of one JSON object, in the order of the input; keys are unique.
struct object {
    std::vector<member> members;
    /// The member named `key`, or null.
    const member* find(std::string_view key) const noexcept;
};

/// Why an input was refused.
enum class fault : std::uint8_t {
    invalid,        ///< not JSON (grammar, UTF-8, escapes, trailing bytes)
    too_deep,       ///< arrays and objects nested deeper than the limit
    wrong_type,     ///< JSON, but not the object (or array) asked for
    duplicate_key,  ///< an object read with read_object() names a member twice
};

struct error {
    fault what = fault::invalid;
    std::string message;  ///< for humans, e.g. "nested deeper than 64 levels"
};

/// The deepest nesting of arrays and objects `text` may have, counting the outermost one
/// (`{"a":[1]}` is 2 deep, a plain number 0).
using depth_limit = std::size_t;

/// Checks the whole of `text`: one JSON value (RFC 8259: grammar, escapes, UTF-8), nested at
/// most `max_depth` deep, and nothing after it. Numbers are checked against the grammar only,
/// never converted, so an integer of any length or an exponent of any size is valid, as the
/// RFC has it. Never recurses: the nesting is followed on an explicit stack, and checking
/// stops as soon as the limit is passed.
std::optional<error> check(std::string_view text, depth_limit max_depth);

/// Reads `text` as one JSON object: its members' keys, kinds and exact texts (views into
/// `text`), the whole text checked as check() does. Members that are themselves objects can be
/// read again from their text (with one level less).
std::variant<object, error> read_object(std::string_view text, depth_limit max_depth);

/// Reads `text` as one JSON array: its elements' kinds and exact texts (views into `text`),
/// the whole text checked as check() does.
std::variant<std::vector<raw_value>, error> read_array(std::string_view text,
                                                       depth_limit max_depth);

/// `text` without the JSON whitespace (space, tab, CR, LF) around it.
std::string_view trim(std::string_view text) noexcept;

/// The description of a depth limit used in error messages: "nested deeper than N levels".
std::string too_deep_message(depth_limit max_depth);

}  // namespace wsgate::json_input
