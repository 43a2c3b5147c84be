#include <wsgate/json/json_reader.hpp>

// simdjson's On-Demand API (Debian 12: libsimdjson-dev 3.0.1) gives the exact text of any value
// without building a tree (raw_json_token(), current_location()), so `data` is passed through
// byte for byte and a 1 MiB event costs one indexing pass and no allocation per value. Its DOM
// parser would check a document in one call, but it refuses integers beyond 64 bits and
// exponents beyond a double's range (both valid JSON, which a pass-through must keep), and
// On-Demand checks only what is visited: so every value is visited here, on an explicit stack,
// and numbers are checked against the grammar instead of being converted. simdjson.h is large:
// only this file includes it.
#include <simdjson.h>

#include <algorithm>
#include <memory>

namespace wsgate::json_input {

namespace od = simdjson::ondemand;
using simdjson::error_code;

namespace {

// Inputs up to this size reuse one parser and one padded copy per thread; larger ones get
// their own, freed afterwards, so that one big event does not pin its memory for good.
constexpr std::size_t reuse_limit = 64 * 1024;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — the grammar only; the
// value is never converted, so no size is refused.
bool valid_number(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto digits = [&] {
        const std::size_t start = i;
        while (i < n && is_digit(s[i])) ++i;
        return i > start;
    };
    if (i < n && s[i] == '-') ++i;
    if (i < n && s[i] == '0') {
        ++i;
    } else if (!digits()) {
        return false;
    }
    if (i < n && s[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == n;
}

kind kind_of(od::json_type t) {
    switch (t) {
        case od::json_type::array: return kind::array;
        case od::json_type::object: return kind::object;
        case od::json_type::number: return kind::number;
        case od::json_type::string: return kind::string;
        case od::json_type::boolean: return kind::boolean;
        case od::json_type::null: break;
    }
    return kind::null;
}

/// The parser and the padded copy simdjson reads (it reads up to 64 bytes past the end).
class workspace {
public:
    /// `max_depth`: the deepest nesting the walk may reach (it stops beyond it).
    workspace(std::string_view text, depth_limit max_depth) {
        thread_local std::unique_ptr<od::parser> shared_parser;
        thread_local std::string shared_copy;
        thread_local bool shared_busy = false;
        // The parser keeps a position per level it may reach (checked when simdjson's
        // development checks are on, as in debug builds): room for the walk's limit.
        depth_ = std::max<std::size_t>(max_depth + 1, simdjson::DEFAULT_MAX_DEPTH);
        if (text.size() <= reuse_limit && depth_ <= simdjson::DEFAULT_MAX_DEPTH && !shared_busy) {
            if (!shared_parser) shared_parser = std::make_unique<od::parser>();
            parser_ = shared_parser.get();
            copy_ = &shared_copy;
            busy_ = &shared_busy;
            shared_busy = true;
        } else {
            own_parser_ = std::make_unique<od::parser>();
            parser_ = own_parser_.get();
            copy_ = &own_copy_;
        }
        copy_->reserve(text.size() + simdjson::SIMDJSON_PADDING);
        copy_->assign(text.data(), text.size());
        base_ = text.data();
    }
    ~workspace() {
        if (busy_ != nullptr) *busy_ = false;
    }
    workspace(const workspace&) = delete;
    workspace& operator=(const workspace&) = delete;

    error_code start(od::document& doc) {
        if (parser_->max_depth() < depth_ || parser_->capacity() < copy_->size()) {
            if (auto e = parser_->allocate(std::max(parser_->capacity(), copy_->size()), depth_))
                return e;
        }
        return parser_->iterate(copy_->data(), copy_->size(), copy_->capacity()).get(doc);
    }

    /// The same bytes in the caller's text (views into the copy must not leave this file).
    std::string_view original(const char* first, const char* last) const {
        return std::string_view(base_ + (first - copy_->data()),
                                static_cast<std::size_t>(last - first));
    }
    std::string_view original(std::string_view in_copy) const {
        return original(in_copy.data(), in_copy.data() + in_copy.size());
    }
    std::string_view copy() const { return std::string_view(copy_->data(), copy_->size()); }

private:
    od::parser* parser_ = nullptr;
    std::string* copy_ = nullptr;
    bool* busy_ = nullptr;
    std::unique_ptr<od::parser> own_parser_;
    std::string own_copy_;
    const char* base_ = nullptr;
    std::size_t depth_ = 0;
};

/// Called for each direct child of the outermost array or object, once it has been checked.
struct child_sink {
    virtual ~child_sink() = default;
    /// `key` is null for array elements. `string` is the unescaped value of a string.
    virtual void on_child(const std::string_view* key, raw_value value, std::string_view string,
                          bool boolean) = 0;
};

struct walk_result {
    error_code code = simdjson::SUCCESS;
    bool too_deep = false;
    kind root = kind::null;
};

/// One open array or object on the explicit stack.
struct frame {
    bool is_object = false;
    od::array_iterator element, elements_end;
    od::object_iterator field, fields_end;
    bool step = false;  ///< the current child is done: step past it before the next
    bool open() const { return is_object ? field != fields_end : element != elements_end; }
    void advance() {
        if (is_object)
            ++field;
        else
            ++element;
    }
};

error_code push_container(od::value& v, kind k, std::vector<frame>& stack) {
    frame f;
    f.is_object = k == kind::object;
    error_code e;
    if (f.is_object) {
        od::object o;
        if ((e = v.get_object().get(o))) return e;
        if ((e = o.begin().get(f.field))) return e;
        if ((e = o.end().get(f.fields_end))) return e;
    } else {
        od::array a;
        if ((e = v.get_array().get(a))) return e;
        if ((e = a.begin().get(f.element))) return e;
        if ((e = a.end().get(f.elements_end))) return e;
    }
    stack.push_back(std::move(f));
    return simdjson::SUCCESS;
}

/// Whether a boolean or null token is exactly its literal. simdjson takes `false8` at the
/// root for `false` (the fuzzer found it): the token is compared whole.
bool exact_atom(std::string_view token, kind k) {
    token = trim(token);
    if (k == kind::null) return token == "null";
    return token == "true" || token == "false";
}

/// simdjson's error for a malformed literal (its message names the literal's first letter).
error_code atom_error(std::string_view token, kind k) {
    if (k == kind::null) return simdjson::N_ATOM_ERROR;
    return trim(token).substr(0, 1) == "f" ? simdjson::F_ATOM_ERROR : simdjson::T_ATOM_ERROR;
}

/// Checks a scalar; `string`/`boolean` receive its value.
error_code check_scalar(od::value& v, kind k, std::string_view token, std::string_view& string,
                        bool& boolean) {
    switch (k) {
        case kind::string: return v.get_string().get(string);
        case kind::boolean:
            if (!exact_atom(token, k)) return atom_error(token, k);
            return v.get_bool().get(boolean);
        case kind::null: {
            if (!exact_atom(token, k)) return atom_error(token, k);
            bool is_null = false;
            if (auto e = v.is_null().get(is_null)) return e;
            return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
        }
        case kind::number:
            return valid_number(token) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
        case kind::array:
        case kind::object: break;
    }
    return simdjson::INCORRECT_TYPE;
}

/// Checks the whole document, reporting the outermost container's children to `sink`.
walk_result walk(workspace& ws, od::document& doc, depth_limit max_depth, child_sink* sink) {
    walk_result r;
    od::json_type type;
    if ((r.code = doc.type().get(type))) return r;
    r.root = kind_of(type);
    if (r.root != kind::array && r.root != kind::object) {
        // A lone scalar: it must be the whole text.
        std::string_view token;
        if ((r.code = doc.raw_json_token().get(token))) return r;
        token = trim(token);
        std::string_view string;
        switch (r.root) {
            case kind::string: r.code = doc.get_string().get(string); break;
            // The token alone decides: simdjson's root get_bool() and is_null() refuse `true `
            // and `null ` (whitespace after the atom), which are JSON.
            case kind::boolean:
            case kind::null:
                if (!exact_atom(token, r.root)) r.code = atom_error(token, r.root);
                break;
            default:
                if (!valid_number(token)) r.code = simdjson::NUMBER_ERROR;
                break;
        }
        const std::string_view whole = trim(ws.copy());
        if (!r.code && (token.data() != whole.data() || token.size() != whole.size()))
            r.code = simdjson::TRAILING_CONTENT;
        return r;
    }
    if (max_depth < 1) {
        r.too_deep = true;
        return r;
    }

    std::vector<frame> stack;
    {
        od::value root;
        if ((r.code = doc.get_value().get(root))) return r;
        if ((r.code = push_container(root, r.root, stack))) return r;
    }
    // The outermost container's child being checked, when it is a container itself.
    const char* child_start = nullptr;
    std::string_view child_key;
    std::string child_key_copy;
    kind child_kind = kind::null;

    while (!stack.empty()) {
        frame& top = stack.back();
        if (top.step) {
            if (stack.size() == 1 && child_start != nullptr && sink != nullptr) {
                // Back from a child container: the next token (',', '}' or ']') ends its text.
                const char* end = nullptr;
                if ((r.code = doc.current_location().get(end))) return r;
                const auto text = trim(ws.original(child_start, end));
                child_key = child_key_copy;
                sink->on_child(top.is_object ? &child_key : nullptr, {child_kind, text}, {}, false);
            }
            if (stack.size() == 1) child_start = nullptr;
            top.step = false;
            top.advance();
        }
        if (!top.open()) {
            stack.pop_back();
            continue;
        }
        od::value child;
        std::string_view key;
        if (top.is_object) {
            od::field f;
            if ((r.code = (*top.field).get(f))) return r;
            if ((r.code = f.unescaped_key().get(key))) return r;
            child = f.value();
        } else {
            if ((r.code = (*top.element).get(child))) return r;
        }
        od::json_type t;
        if ((r.code = child.type().get(t))) return r;
        const kind k = kind_of(t);
        std::string_view token = child.raw_json_token();

        top.step = true;
        if (k == kind::array || k == kind::object) {
            if (stack.size() + 1 > max_depth) {
                r.too_deep = true;
                return r;
            }
            if (stack.size() == 1) {
                child_start = token.data();
                child_kind = k;
                child_key_copy.assign(key);  // the key's view does not outlive the next token
            }
            if ((r.code = push_container(child, k, stack))) return r;
            continue;
        }
        std::string_view string;
        bool boolean = false;
        token = trim(token);
        if ((r.code = check_scalar(child, k, token, string, boolean))) return r;
        if (stack.size() == 1 && sink != nullptr)
            sink->on_child(top.is_object ? &key : nullptr, {k, ws.original(token)}, string,
                           boolean);
    }
    // Nothing may follow the outermost container.
    const char* rest = nullptr;
    if (!doc.current_location().get(rest)) r.code = simdjson::TRAILING_CONTENT;
    return r;
}

error invalid(error_code code) {
    return {fault::invalid, std::string("invalid JSON: ") + simdjson::error_message(code)};
}

/// Runs the walk; nullopt when the text is fine.
std::optional<error> run(std::string_view text, depth_limit max_depth, child_sink* sink,
                         kind* root) {
    workspace ws(text, max_depth);
    od::document doc;
    if (auto e = ws.start(doc)) return invalid(e);
    const walk_result r = walk(ws, doc, max_depth, sink);
    if (r.too_deep) return error{fault::too_deep, too_deep_message(max_depth)};
    if (r.code) return invalid(r.code);
    if (root != nullptr) *root = r.root;
    return std::nullopt;
}

}  // namespace

std::string too_deep_message(depth_limit max_depth) {
    return "nested deeper than " + std::to_string(max_depth) + " levels";
}

const member* object::find(std::string_view key) const noexcept {
    for (const auto& m : members)
        if (m.key == key) return &m;
    return nullptr;
}

std::optional<error> check(std::string_view text, depth_limit max_depth) {
    return run(text, max_depth, nullptr, nullptr);
}

namespace {

struct member_sink final : child_sink {
    object out;
    void on_child(const std::string_view* key, raw_value value, std::string_view string,
                  bool boolean) override {
        if (key == nullptr) return;  // an array: read_object() refuses it afterwards
        member m;
        m.key.assign(*key);
        m.value = value;
        m.string.assign(string);
        m.boolean = boolean;
        out.members.push_back(std::move(m));
    }
};

struct element_sink final : child_sink {
    std::vector<raw_value> out;
    void on_child(const std::string_view*, raw_value value, std::string_view, bool) override {
        out.push_back(value);
    }
};

const char* name_of(kind k) {
    switch (k) {
        case kind::null: return "null";
        case kind::boolean: return "a boolean";
        case kind::number: return "a number";
        case kind::string: return "a string";
        case kind::array: return "an array";
        case kind::object: return "an object";
    }
    return "a value";
}

error wrong_type(const char* wanted, kind got) {
    return {fault::wrong_type, std::string("expected ") + wanted + ", got " + name_of(got)};
}

}  // namespace

std::variant<object, error> read_object(std::string_view text, depth_limit max_depth) {
    member_sink sink;
    kind root = kind::null;
    if (auto e = run(text, max_depth, &sink, &root)) return std::move(*e);
    if (root != kind::object) return wrong_type("an object", root);
    // Two members of one name would let two readers of the same text disagree: refuse them.
    // Sorted views keep this O(n log n) for objects with many members.
    std::vector<std::string_view> keys;
    keys.reserve(sink.out.members.size());
    for (const auto& m : sink.out.members) keys.emplace_back(m.key);
    std::sort(keys.begin(), keys.end());
    const auto twice = std::adjacent_find(keys.begin(), keys.end());
    if (twice != keys.end())
        return error{fault::duplicate_key,
                     "the member '" + std::string(twice->substr(0, 64)) + "' appears twice"};
    return std::move(sink.out);
}

std::variant<std::vector<raw_value>, error> read_array(std::string_view text,
                                                       depth_limit max_depth) {
    element_sink sink;
    kind root = kind::null;
    if (auto e = run(text, max_depth, &sink, &root)) return std::move(*e);
    if (root != kind::array) return wrong_type("an array", root);
    return std::move(sink.out);
}

}  // namespace wsgate::json_input
