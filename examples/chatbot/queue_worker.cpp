#include "queue_worker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <hiredis/hiredis.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bot.hpp"

namespace chatbot {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

constexpr const char* publish_path = "/api/v1/publish";
constexpr auto http_timeout = 5s;
constexpr int batch_size = 50;
constexpr const char* block_ms = "1000";
/// Socket timeout for Redis commands: longer than the 1 s BLOCK.
constexpr timeval redis_timeout{5, 0};
/// Pause before retrying after a failed round (Redis down, gateway refusing).
constexpr auto retry_pause = 500ms;

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_stop_signal(int) { stop_requested = 1; }

bool stopping() { return stop_requested != 0; }

/// Installs the SIGINT/SIGTERM handler without SA_RESTART.
void install_signal_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

/// Sleeps for `duration`, waking early when a stop was requested.
void pause_for(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (!stopping() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(20ms);
    }
}

std::string default_consumer_name() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
        std::snprintf(host, sizeof host, "%s", "chatbot");
    }
    return std::string(host) + "-" + std::to_string(getpid());
}

struct reply_deleter {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
    void operator()(redisContext* context) const { redisFree(context); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

std::string reply_string(const redisReply* reply) {
    return reply != nullptr && reply->str != nullptr ? std::string(reply->str, reply->len)
                                                     : std::string();
}

/// One synchronous Redis connection; on an I/O error it is dropped and made again on next use.
class redis_link {
  public:
    explicit redis_link(host_port address) : address_(std::move(address)) {}

    /// Runs `args`; nullptr when the connection failed (logged; the caller retries later).
    reply_ptr command(const std::vector<std::string>& args) {
        if (!context_ && !connect()) {
            return nullptr;
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        auto* raw = static_cast<redisReply*>(redisCommandArgv(
            context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
        if (raw == nullptr) {
            std::cerr << "chatbot: redis " << args.front() << " failed: "
                      << (context_->errstr[0] != '\0' ? context_->errstr : "connection lost")
                      << std::endl;
            context_.reset();
            return nullptr;
        }
        return reply_ptr(raw);
    }

  private:
    bool connect() {
        const timeval connect_timeout{2, 0};
        context_.reset(
            redisConnectWithTimeout(address_.host.c_str(), address_.port, connect_timeout));
        if (!context_ || context_->err != 0) {
            std::cerr << "chatbot: cannot connect to redis " << address_.host << ":"
                      << address_.port << ": "
                      << (context_ ? context_->errstr : "out of memory") << std::endl;
            context_.reset();
            return false;
        }
        redisSetTimeout(context_.get(), redis_timeout);
        return true;
    }

    host_port address_;
    context_ptr context_;
};

/// `POST /api/v1/publish` with `body`, waiting for the answer (at most 5 s): its status, or 0
/// when the call failed (logged).
unsigned post_publish(const host_port& gateway, const std::string& api_key,
                      const nlohmann::json& body) {
    net::io_context ioc(1);
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    http::request<http::string_body> request{http::verb::post, publish_path, 11};
    request.set(http::field::host, gateway.host + ":" + std::to_string(gateway.port));
    request.set(http::field::content_type, "application/json");
    if (!api_key.empty()) {
        request.set(http::field::authorization, "Bearer " + api_key);
    }
    request.keep_alive(false);
    request.body() = body.dump();
    request.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    error_code failure;
    const char* step = "resolve";

    resolver.async_resolve(
        gateway.host, std::to_string(gateway.port),
        [&](error_code ec, const tcp::resolver::results_type& endpoints) {
            if (ec) {
                failure = ec;
                return;
            }
            step = "connect";
            stream.expires_after(http_timeout);
            stream.async_connect(endpoints, [&](error_code connect_ec, const tcp::endpoint&) {
                if (connect_ec) {
                    failure = connect_ec;
                    return;
                }
                step = "write";
                http::async_write(stream, request, [&](error_code write_ec, std::size_t) {
                    if (write_ec) {
                        failure = write_ec;
                        return;
                    }
                    step = "read";
                    http::async_read(stream, buffer, response, [&](error_code read_ec, std::size_t) {
                        failure = read_ec;
                    });
                });
            });
        });
    ioc.run();
    if (failure) {
        std::cerr << "chatbot: POST " << publish_path << " to " << gateway.host << ":"
                  << gateway.port << " failed (" << step << "): " << failure.message()
                  << std::endl;
        return 0;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (response.result_int() != 202) {
        std::cerr << "chatbot: POST " << publish_path << " " << request.body() << " answered "
                  << response.result_int() << " " << response.body() << std::endl;
    }
    return response.result_int();
}

/// The value of `name` in a stream entry's flat [field, value, ...] array.
std::optional<std::string> field_value(const redisReply* fields, const std::string& name) {
    if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (reply_string(fields->element[i]) == name) {
            return reply_string(fields->element[i + 1]);
        }
    }
    return std::nullopt;
}

class worker {
  public:
    explicit worker(const options& opts)
        : opts_(opts),
          redis_(*opts.queue),
          consumer_(opts.consumer.empty() ? default_consumer_name() : opts.consumer) {}

    int run() {
        while (!stopping() && !create_group()) {
            pause_for(retry_pause);
        }
        if (stopping()) {
            return 0;
        }
        std::cout << "chatbot worker ready (stream " << opts_.stream << ", group " << opts_.group
                  << ", consumer " << consumer_ << ")" << std::endl;  // std::endl flushes

        // First this consumer's own pending entries (a previous run's, or failed answers), then
        // new ones; back to the pending ones whenever an answer failed.
        bool pending_first = true;
        while (!stopping()) {
            const round result = pending_first ? read_round("0") : read_round(">");
            switch (result) {
                case round::all_done:
                    pending_first = false;
                    break;
                case round::more_pending:
                    break;  // the next page of pending entries
                case round::failed:
                    pending_first = true;
                    pause_for(retry_pause);
                    break;
            }
        }
        std::cerr << "chatbot: worker " << consumer_ << " stopping" << std::endl;
        return 0;
    }

  private:
    enum class round { all_done, more_pending, failed };

    /// XGROUP CREATE <stream> <group> 0 MKSTREAM; BUSYGROUP (it exists) is fine.
    bool create_group() {
        const auto reply =
            redis_.command({"XGROUP", "CREATE", opts_.stream, opts_.group, "0", "MKSTREAM"});
        if (!reply) {
            return false;
        }
        if (reply->type == REDIS_REPLY_ERROR &&
            reply_string(reply.get()).rfind("BUSYGROUP", 0) != 0) {
            std::cerr << "chatbot: XGROUP CREATE " << opts_.stream << " " << opts_.group
                      << " failed: " << reply_string(reply.get()) << std::endl;
            return false;
        }
        return true;
    }

    /// One XREADGROUP from `id` ("0": own pending entries, without blocking; ">": new ones,
    /// blocking up to 1 s) and the answers to what it returned.
    round read_round(const std::string& id) {
        std::vector<std::string> args{"XREADGROUP", "GROUP", opts_.group, consumer_, "COUNT",
                                      std::to_string(batch_size)};
        if (id == ">") {
            args.insert(args.end(), {"BLOCK", block_ms});
        }
        args.insert(args.end(), {"STREAMS", opts_.stream, id});
        const auto reply = redis_.command(args);
        if (!reply) {
            return round::failed;
        }
        if (reply->type == REDIS_REPLY_NIL) {
            return round::all_done;  // BLOCK timed out: nothing new
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            const std::string error = reply_string(reply.get());
            std::cerr << "chatbot: XREADGROUP failed: " << error << std::endl;
            if (error.rfind("NOGROUP", 0) == 0) {
                create_group();  // the stream (and with it the group) was deleted
            }
            return round::failed;
        }
        if (reply->type != REDIS_REPLY_ARRAY) {
            return round::failed;
        }
        std::size_t entries_seen = 0;
        bool all_answered = true;
        for (std::size_t s = 0; s < reply->elements; ++s) {
            const redisReply* stream = reply->element[s];
            if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
                stream->element[1]->type != REDIS_REPLY_ARRAY) {
                continue;
            }
            const redisReply* entries = stream->element[1];
            for (std::size_t e = 0; e < entries->elements && !stopping(); ++e) {
                const redisReply* entry = entries->element[e];
                if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) {
                    continue;
                }
                ++entries_seen;
                if (!handle(reply_string(entry->element[0]), entry->element[1])) {
                    all_answered = false;
                }
            }
        }
        if (!all_answered) {
            return round::failed;
        }
        if (id == "0" && entries_seen >= static_cast<std::size_t>(batch_size)) {
            return round::more_pending;
        }
        return round::all_done;
    }

    /// Answers one entry and acknowledges it; false when it must stay pending (retried later).
    bool handle(const std::string& entry_id, const redisReply* fields) {
        // A pending entry trimmed away by MAXLEN comes back without fields: nothing to answer.
        const auto body = field_value(fields, "body");
        if (!body) {
            std::cerr << "chatbot: entry " << entry_id << " has no body; acknowledging it"
                      << std::endl;
            return ack(entry_id);
        }
        const auto message = parse_message(*body);
        if (!message) {
            std::cerr << "chatbot: entry " << entry_id << " is not a message: " << *body
                      << "; acknowledging it" << std::endl;
            return ack(entry_id);
        }
        const unsigned status =
            post_publish(*opts_.gateway, opts_.api_key, queue_publish_body(*message));
        if (status == 202) {
            return ack(entry_id);
        }
        return false;  // stays pending; retried on the next round
    }

    bool ack(const std::string& entry_id) {
        const auto reply = redis_.command({"XACK", opts_.stream, opts_.group, entry_id});
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            std::cerr << "chatbot: XACK " << entry_id << " failed"
                      << (reply ? ": " + reply_string(reply.get()) : std::string()) << std::endl;
            return false;
        }
        return true;
    }

    const options& opts_;
    redis_link redis_;
    std::string consumer_;
};

}  // namespace

int run_queue_worker(const options& opts) {
    install_signal_handlers();
    return worker(opts).run();
}

}  // namespace chatbot
