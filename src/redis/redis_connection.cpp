#include <wsgate/redis/redis_connection.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace wsgate {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {
// hiredis reads at most 16 KiB per call: read on while the kernel holds more, up to this.
constexpr int max_reads_per_wakeup = 64;

std::string_view text_of(const redisReply* r) {
    return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                             : std::string_view();
}
}  // namespace

// A command's callback, owned by hiredis until the reply (or the connection's end) comes.
struct redis_connection::pending_command {
    reply_handler on_reply;
};

// Every hiredis hook gets its context; the context's `data` is this object. A hook for a
// context that is no longer the current one (being freed late by hiredis) is ignored.
#define WSGATE_SELF(ctx) static_cast<redis_connection*>((ctx)->data)

redis_connection::redis_connection(net::any_io_executor ex, redis_address address,
                                   std::chrono::milliseconds timeout, std::string name,
                                   handlers h)
    : ex_(std::move(ex)),
      address_(std::move(address)),
      timeout_(timeout),
      name_(std::move(name)),
      handlers_(std::move(h)),
      resolver_(ex_),
      watchdog_(ex_) {}

redis_connection::~redis_connection() {
    if (redisAsyncContext* ctx = ctx_) {
        forget_context();
        redisAsyncFree(ctx);  // pending commands get a null reply now
    }
}

void redis_connection::connect() {
    if (state_ != state::down) return;
    state_ = state::connecting;
    connect_deadline_ = clock_type::now() + timeout_;
    watch();  // fails the attempt at the deadline, whichever step it is at
    resolver_.async_resolve(
        address_.host, address_.port, connect_deadline_,
        [weak = weak_from_this(), attempt = ++attempt_](const boost::system::error_code& ec,
                                                         const deadline_resolver::endpoints& found) {
            auto self = weak.lock();
            if (!self || attempt != self->attempt_ || self->state_ != state::connecting ||
                ec == net::error::operation_aborted)
                return;
            if (ec == net::error::timed_out)
                return self->lost("connect timeout (resolving " + self->address_.host +
                                  " took longer than " + std::to_string(self->timeout_.count()) +
                                  " ms)");
            if (ec || found.empty())
                return self->lost("resolve " + self->address_.host + ": " +
                                  (ec ? ec.message() : "no address"));
            // The first IPv4 address, else the first IPv6 one: what hiredis picked itself.
            const auto v4 = std::find_if(found.begin(), found.end(),
                                         [](const auto& e) { return e.address().is_v4(); });
            self->open((v4 != found.end() ? *v4 : found.front()).address().to_string());
        });
}

void redis_connection::open(const std::string& numeric_host) {
    // A numeric address: hiredis's own getaddrinfo() does no lookup.
    redisAsyncContext* ctx = redisAsyncConnect(numeric_host.c_str(), address_.port);
    if (ctx == nullptr || ctx->err != 0) {
        const std::string why = ctx != nullptr ? ctx->errstr : "out of memory";
        if (ctx != nullptr) redisAsyncFree(ctx);
        return lost("connect: " + why);
    }
    ctx_ = ctx;
    ctx->data = this;
    ctx->ev.data = ctx;
    ctx->ev.addRead = &redis_connection::add_read_c;
    ctx->ev.delRead = &redis_connection::del_read_c;
    ctx->ev.addWrite = &redis_connection::add_write_c;
    ctx->ev.delWrite = &redis_connection::del_write_c;
    ctx->ev.cleanup = &redis_connection::cleanup_c;
    ++generation_;
    socket_.emplace(ex_, ctx->c.fd);
    // hiredis learns that the connection is up from the first write event.
    redisAsyncSetConnectCallback(ctx, &redis_connection::on_connect_c);
}

void redis_connection::disconnect(const std::string& why) {
    if (state_ == state::down) return;
    if (redisAsyncContext* ctx = ctx_) {
        forget_context();
        redisAsyncFree(ctx);  // inside a hiredis callback, hiredis frees it when that returns
    }
    lost(why);
}

void redis_connection::forget_context() {
    ctx_ = nullptr;
    ++generation_;
    if (socket_) {
        socket_->release();  // hiredis owns the descriptor and closes it
        socket_.reset();
    }
    want_read_ = read_armed_ = want_write_ = write_armed_ = false;
}

void redis_connection::lost(const std::string& why) {
    state_ = state::down;
    awaited_.clear();
    watchdog_.cancel();
    resolver_.cancel();
    net::post(ex_, [weak = weak_from_this(), why] {
        if (auto self = weak.lock(); self && self->handlers_.on_down) self->handlers_.on_down(why);
    });
}

bool redis_connection::command(const std::vector<std::string_view>& args, reply_handler on_reply) {
    if (state_ != state::up) return false;
    auto* p = new pending_command{std::move(on_reply)};
    if (!send(args, &redis_connection::on_reply_c, p, 1)) {
        delete p;
        return false;
    }
    return true;
}

bool redis_connection::subscribe(const std::vector<std::string>& channels, bool subscribe) {
    if (state_ != state::up || channels.empty()) return false;
    std::vector<std::string_view> args;
    args.reserve(channels.size() + 1);
    args.emplace_back(subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
    for (const auto& c : channels) args.emplace_back(c);
    // Redis confirms each channel with a reply of its own, routed to on_pubsub_c.
    return send(args, &redis_connection::on_pubsub_c, this, channels.size());
}

bool redis_connection::send(const std::vector<std::string_view>& args,
                            void (*fn)(redisAsyncContext*, void*, void*), void* privdata,
                            std::size_t replies) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    if (redisAsyncCommandArgv(ctx_, fn, privdata, static_cast<int>(argv.size()), argv.data(),
                              lengths.data()) != REDIS_OK)
        return false;
    awaited_.insert(awaited_.end(), replies, clock_type::now());
    return true;
}

void redis_connection::reply_arrived() {
    if (!awaited_.empty()) awaited_.pop_front();
    last_progress_ = clock_type::now();
}

void redis_connection::watch() {
    // Checks a few times per timeout whether connecting or the oldest reply is overdue.
    watchdog_.expires_after(std::max(timeout_ / 4, std::chrono::milliseconds(20)));
    watchdog_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->state_ == state::down) return;
        const auto now = clock_type::now();
        if (self->state_ == state::connecting && now > self->connect_deadline_)
            return self->disconnect("connect timeout");
        // Overdue only when Redis has been silent for the whole timeout: one SUBSCRIBE of
        // 100,000 channels is megabytes to write and 100,000 replies to read, which may take
        // longer than the timeout, and must not be taken for a Redis that stopped answering.
        // Nor is it silent while our command is still being written, or while its answer
        // waits unread in the socket (the loop was busy elsewhere).
        if (!self->awaited_.empty() &&
            now - std::max(self->awaited_.front(), self->last_progress_) > self->timeout_ &&
            !self->want_write_ && !self->input_waiting())
            return self->disconnect("no reply within " + std::to_string(self->timeout_.count()) +
                                    " ms");
        self->watch();
    });
}

bool redis_connection::input_waiting() {
    if (!socket_) return false;
    net::posix::descriptor_base::bytes_readable available(true);
    boost::system::error_code ec;
    socket_->io_control(available, ec);
    return !ec && available.get() > 0;
}

void redis_connection::on_connected(int status) {
    if (status != REDIS_OK) {
        const std::string why = ctx_->errstr;
        forget_context();  // hiredis frees the context after this callback
        return lost("connect: " + why);
    }
    // Log in (AUTH, SELECT) before anybody else may send.
    std::vector<std::vector<std::string>> steps;
    if (!address_.password.empty()) {
        steps.push_back({"AUTH"});
        if (!address_.username.empty()) steps.back().push_back(address_.username);
        steps.back().push_back(address_.password);
    }
    if (address_.db != 0) steps.push_back({"SELECT", std::to_string(address_.db)});
    if (steps.empty()) return become_up();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const bool last = i + 1 == steps.size();
        const std::string what = steps[i][0];
        auto* p = new pending_command{[weak = weak_from_this(), last, what](const redisReply* r) {
            auto self = weak.lock();
            if (!self || r == nullptr) return;
            if (r->type == REDIS_REPLY_ERROR)
                return self->disconnect(what + " failed: " + std::string(text_of(r)));
            if (last) self->become_up();
        }};
        const std::vector<std::string_view> args(steps[i].begin(), steps[i].end());
        if (!send(args, &redis_connection::on_reply_c, p, 1)) {
            delete p;
            return disconnect(what + " could not be sent");
        }
    }
}

void redis_connection::become_up() {
    if (state_ != state::connecting) return;
    state_ = state::up;
    net::post(ex_, [weak = weak_from_this()] {
        if (auto self = weak.lock(); self && self->up() && self->handlers_.on_up)
            self->handlers_.on_up();
    });
}

// ---- hiredis callbacks ----

void redis_connection::on_connect_c(const redisAsyncContext* ctx, int status) {
    auto* self = WSGATE_SELF(ctx);
    if (self->ctx_ == ctx) self->on_connected(status);
}

void redis_connection::on_reply_c(redisAsyncContext* ctx, void* reply, void* privdata) {
    std::unique_ptr<pending_command> p(static_cast<pending_command*>(privdata));
    auto* r = static_cast<const redisReply*>(reply);
    if (r != nullptr) WSGATE_SELF(ctx)->reply_arrived();
    if (p->on_reply) p->on_reply(r);
}

void redis_connection::on_pubsub_c(redisAsyncContext*, void* reply, void* privdata) {
    auto* r = static_cast<const redisReply*>(reply);
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    auto* self = static_cast<redis_connection*>(privdata);
    const auto kind = text_of(r->element[0]);
    const auto channel = text_of(r->element[1]);
    if (kind == "message") {
        if (self->handlers_.on_message) self->handlers_.on_message(channel, text_of(r->element[2]));
    } else if (kind == "subscribe" || kind == "unsubscribe") {
        self->reply_arrived();
        if (self->handlers_.on_subscription)
            self->handlers_.on_subscription(channel, kind == "subscribe");
    }
}

redis_connection* redis_connection::owner_of(void* hook_data) {
    auto* ctx = static_cast<redisAsyncContext*>(hook_data);
    auto* self = WSGATE_SELF(ctx);
    return self->ctx_ == ctx ? self : nullptr;
}

void redis_connection::add_read_c(void* p) {
    if (auto* self = owner_of(p)) {
        self->want_read_ = true;
        self->arm(false);
    }
}

void redis_connection::del_read_c(void* p) {
    if (auto* self = owner_of(p)) self->want_read_ = false;
}

void redis_connection::add_write_c(void* p) {
    if (auto* self = owner_of(p)) {
        self->want_write_ = true;
        self->arm(true);
    }
}

void redis_connection::del_write_c(void* p) {
    if (auto* self = owner_of(p)) self->want_write_ = false;
}

// hiredis frees a context it gave up on (EOF, I/O error) and calls this first: the one
// notice of every loss we did not cause ourselves.
void redis_connection::cleanup_c(void* p) {
    auto* ctx = static_cast<redisAsyncContext*>(p);
    auto* self = WSGATE_SELF(ctx);
    if (self->ctx_ != ctx) return;  // we dropped it ourselves
    const std::string why = ctx->err != 0 ? ctx->errstr : "closed by the server";
    self->forget_context();
    self->lost(why);
}

// ---- readiness waits ----

void redis_connection::arm(bool write) {
    bool& armed = write ? write_armed_ : read_armed_;
    if (armed || !socket_) return;
    armed = true;
    using base = net::posix::descriptor_base;
    socket_->async_wait(write ? base::wait_write : base::wait_read,
                        [weak = weak_from_this(), gen = generation_, write](
                            boost::system::error_code ec) {
                            auto self = weak.lock();
                            if (!self || gen != self->generation_) return;
                            (write ? self->write_armed_ : self->read_armed_) = false;
                            if (ec) return;
                            if (write)
                                self->on_writable();
                            else
                                self->on_readable();
                        });
}

void redis_connection::on_readable() {
    for (int i = 0; i < max_reads_per_wakeup && ctx_ != nullptr && want_read_; ++i) {
        redisAsyncHandleRead(ctx_);
        if (!socket_) break;
        net::posix::descriptor_base::bytes_readable available(true);
        boost::system::error_code ec;
        socket_->io_control(available, ec);
        if (ec || available.get() == 0) break;
    }
    if (want_read_) arm(false);
}

void redis_connection::on_writable() {
    if (ctx_ == nullptr || !want_write_) return;
    redisAsyncHandleWrite(ctx_);
    last_progress_ = clock_type::now();  // Redis's silence counts from our last byte
    if (want_write_) arm(true);
}

#undef WSGATE_SELF

}  // namespace wsgate
