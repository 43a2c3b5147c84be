#include <wsgate/redis/history_script.hpp>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

namespace wsgate::redis_history {

namespace {

// Publishes a run of events to one stream. KEYS: meta, log, then the idempotency key of each
// event that has one, in order. ARGV: channel, size, ttl_ms, epoch for a new stream,
// idempotency window in ms, then per event: its encoded envelope without the opening brace,
// its id, and "1" when it has a key. Answers per event a flag and "id top epoch": 0 for a retry
// of a known key (nothing published), 1 once published. Size 0: no history, no offset; only
// the keys are checked. One call for the run costs Redis one script call, one append, trim
// and expiry, instead of one each per event; the events are published one by one, in order.
constexpr std::string_view publish_lua = R"lua(
local size = tonumber(ARGV[2])
local epoch, top, rows, out, k = nil, 0, {}, {}, 3
for i = 6, #ARGV, 3 do
  local idem = nil
  if ARGV[i + 2] == '1' then
    idem = KEYS[k]
    k = k + 1
  end
  local first = idem and redis.call('GET', idem)
  if first then
    out[#out + 1] = 0
    out[#out + 1] = first
  else
    local payload = '{' .. ARGV[i]
    if size > 0 then
      if not epoch then
        epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          epoch = ARGV[4]
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'epoch', epoch)
        end
        top = tonumber(redis.call('HGET', KEYS[1], 'top')) or 0
      end
      top = top + 1
      payload = '{"offset":' .. top .. ',"epoch":"' .. epoch .. '",' .. ARGV[i]
      rows[#rows + 1] = payload
    end
    redis.call('PUBLISH', ARGV[1], payload)
    local answer = ARGV[i + 1] .. ' ' .. top .. ' ' .. (epoch or '')
    if idem then redis.call('SET', idem, answer, 'PX', ARGV[5]) end
    out[#out + 1] = 1
    out[#out + 1] = answer
  end
end
if #rows > 0 then
  redis.call('HSET', KEYS[1], 'top', top)
  redis.call('RPUSH', KEYS[2], unpack(rows))
  redis.call('LTRIM', KEYS[2], -size, -1)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return out
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

std::vector<std::string> publish_args(const run& r) {
    std::size_t keyed = 0;
    for (const auto& e : r.events) keyed += e.idempotency_key.empty() ? 0 : 1;
    std::vector<std::string> out;
    out.reserve(8 + keyed + 3 * r.events.size());
    out.push_back(std::to_string(2 + keyed));
    out.push_back(meta_key(r.prefix, r.topic));
    out.push_back(log_key(r.prefix, r.topic));
    for (const auto& e : r.events)
        if (!e.idempotency_key.empty())
            out.push_back(idempotency_key(r.prefix, r.topic, e.idempotency_key));
    out.push_back(std::string(r.prefix) + std::string(r.topic));
    out.push_back(std::to_string(r.policy.size));
    out.push_back(std::to_string(r.policy.ttl.count()));
    out.push_back(std::string(r.new_epoch));
    out.push_back(std::to_string(r.idempotency_window.count()));
    for (const auto& e : r.events) {
        out.push_back(std::string(e.encoded.substr(1)));  // the script writes the brace
        out.push_back(std::string(e.id));
        out.push_back(e.idempotency_key.empty() ? "0" : "1");
    }
    return out;
}

std::optional<std::vector<published>> parse_publish_reply(const redisReply* r,
                                                          std::size_t count) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 * count)
        return std::nullopt;
    std::vector<published> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const redisReply* flag = r->element[2 * i];
        const redisReply* answer = r->element[2 * i + 1];
        if (flag->type != REDIS_REPLY_INTEGER || answer->type != REDIS_REPLY_STRING)
            return std::nullopt;
        auto one = parse_answer(text_of(answer), flag->integer == 0);
        if (!one) return std::nullopt;
        out.push_back(std::move(*one));
    }
    return out;
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
