#include <wsgate/redis/history_script.hpp>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

namespace wsgate::redis_history {

namespace {

// KEYS: meta, log[, idempotency]. ARGV: channel, the encoded envelope without its opening
// brace, size, ttl_ms, epoch for a new stream, idempotency window in ms, id.
// Answers {0, "id top epoch"} for a retry of a known key (nothing published), {1, "id top
// epoch"} once published. Size 0: no history, no offset; only the key is checked.
constexpr std::string_view publish_lua = R"lua(
local idem = KEYS[3]
if idem then
  local first = redis.call('GET', idem)
  if first then return {0, first} end
end
local size = tonumber(ARGV[3])
local top, epoch, payload = 0, '', '{' .. ARGV[2]
if size > 0 then
  epoch = redis.call('HGET', KEYS[1], 'epoch')
  if not epoch then
    epoch = ARGV[5]
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'epoch', epoch)
  end
  top = redis.call('HINCRBY', KEYS[1], 'top', 1)
  payload = '{"offset":' .. top .. ',"epoch":"' .. epoch .. '",' .. ARGV[2]
  redis.call('RPUSH', KEYS[2], payload)
  redis.call('LTRIM', KEYS[2], -size, -1)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('PUBLISH', ARGV[1], payload)
local answer = ARGV[7] .. ' ' .. top .. ' ' .. epoch
if idem then redis.call('SET', idem, answer, 'PX', ARGV[6]) end
return {1, answer}
)lua";

// KEYS: meta, log. ARGV: epoch asked, offset after which to read ("oldest": whatever is
// kept), limit. Answers {epoch, top, complete, events...} by the rules of
// memory_history::read (history/stream.hpp: read_result).
constexpr std::string_view read_lua = R"lua(
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'top')
local epoch, top = meta[1], tonumber(meta[2])
local asked, after, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not epoch then
  if (asked == '' and after == '0') or after == 'oldest' then return {'', 0, 1} end
  return {'', 0, 0}
end
local first = top - redis.call('LLEN', KEYS[2]) + 1
if after == 'oldest' then
  after, asked = first - 1, epoch
else
  after = tonumber(after)
end
local same = asked == epoch or (asked == '' and after == 0 and first == 1)
if not same or after > top or after + 1 < first then return {epoch, top, 0} end
local out = {epoch, top, 1}
if limit > 0 then
  local from = after + 1 - first
  local rows = redis.call('LRANGE', KEYS[2], from, from + limit - 1)
  for i = 1, #rows do out[#out + 1] = rows[i] end
end
return out
)lua";

std::string sha1_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

std::string stream_key(std::string_view prefix, std::string_view topic, std::string_view part) {
    std::string key(prefix);
    key += '{';
    key += topic;
    key += "}:";
    key += part;
    return key;
}

std::string_view text_of(const redisReply* r) { return {r->str, r->len}; }

// "id top epoch", as the publish script stores and answers it.
std::optional<published> parse_answer(std::string_view s, bool duplicate) {
    const auto a = s.find(' ');
    const auto b = a == std::string_view::npos ? a : s.find(' ', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    published out;
    out.duplicate = duplicate;
    out.id = std::string(s.substr(0, a));
    std::uint64_t top = 0;
    for (char c : s.substr(a + 1, b - a - 1)) {
        if (c < '0' || c > '9') return std::nullopt;
        top = top * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out.at = {std::string(s.substr(b + 1)), top};
    return out;
}

}  // namespace

const script& publish_script() {
    static const script s{publish_lua, sha1_hex(publish_lua)};
    return s;
}

const script& read_script() {
    static const script s{read_lua, sha1_hex(read_lua)};
    return s;
}

std::string meta_key(std::string_view prefix, std::string_view topic) {
    return stream_key(prefix, topic, "meta");
}

std::string log_key(std::string_view prefix, std::string_view topic) {
    return stream_key(prefix, topic, "log");
}

std::string idempotency_key(std::string_view prefix, std::string_view topic,
                            std::string_view key) {
    return stream_key(prefix, topic, "idem:") + std::string(key);
}

std::vector<std::string> publish_args(const publication& p) {
    std::vector<std::string> out;
    const bool keyed = !p.idempotency_key.empty();
    out.reserve(12);
    out.push_back(keyed ? "3" : "2");
    out.push_back(meta_key(p.prefix, p.topic));
    out.push_back(log_key(p.prefix, p.topic));
    if (keyed) out.push_back(idempotency_key(p.prefix, p.topic, p.idempotency_key));
    out.push_back(std::string(p.prefix) + std::string(p.topic));
    out.push_back(std::string(p.encoded.substr(1)));  // the script writes the brace
    out.push_back(std::to_string(p.policy.size));
    out.push_back(std::to_string(p.policy.ttl.count()));
    out.push_back(std::string(p.new_epoch));
    out.push_back(std::to_string(p.idempotency_window.count()));
    out.push_back(std::string(p.id));
    return out;
}

std::optional<published> parse_publish_reply(const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
    const redisReply* flag = r->element[0];
    const redisReply* answer = r->element[1];
    if (flag->type != REDIS_REPLY_INTEGER || answer->type != REDIS_REPLY_STRING)
        return std::nullopt;
    return parse_answer(text_of(answer), flag->integer == 0);
}

std::vector<std::string> read_args(std::string_view prefix, std::string_view topic,
                                   std::string_view epoch, std::uint64_t after,
                                   std::size_t limit) {
    return {"2",
            meta_key(prefix, topic),
            log_key(prefix, topic),
            std::string(epoch),
            after == history::from_oldest ? std::string("oldest") : std::to_string(after),
            std::to_string(limit)};
}

std::optional<history::read_result> parse_read_reply(const redisReply* r,
                                                     std::size_t json_max_depth) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return std::nullopt;
    const redisReply* epoch = r->element[0];
    const redisReply* top = r->element[1];
    const redisReply* complete = r->element[2];
    if (epoch->type != REDIS_REPLY_STRING || top->type != REDIS_REPLY_INTEGER ||
        complete->type != REDIS_REPLY_INTEGER || top->integer < 0)
        return std::nullopt;
    history::read_result out;
    out.top = {std::string(text_of(epoch)), static_cast<std::uint64_t>(top->integer)};
    out.complete = complete->integer == 1;
    out.events.reserve(r->elements - 3);
    for (std::size_t i = 3; i < r->elements; ++i) {
        const redisReply* row = r->element[i];
        if (row->type != REDIS_REPLY_STRING) return std::nullopt;
        auto e = decode_envelope(text_of(row), json_max_depth);
        // Written by the publish script: anything else means the keys were tampered with.
        if (!e || e->offset == 0) return std::nullopt;
        out.events.push_back(std::make_shared<const envelope>(std::move(*e)));
    }
    return out;
}

std::vector<std::string> remove_command(std::string_view prefix, std::string_view topic) {
    return {"DEL", meta_key(prefix, topic), log_key(prefix, topic)};
}

bool is_noscript(const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_ERROR &&
           text_of(r).substr(0, 8) == "NOSCRIPT";
}

}  // namespace wsgate::redis_history
