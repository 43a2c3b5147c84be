#include <wsgate/upstream/queue_service.hpp>

#include <wsgate/bus/redis_bus.hpp>
#include <wsgate/upstream/http_service.hpp>

namespace wsgate {

queue_service::queue_service(service_config cfg, std::shared_ptr<redis_bus> redis)
    : service(std::move(cfg)), redis_(std::move(redis)), stream_(redis_->prefix() + "svc:" +
                                                                 cfg_.name) {}

void queue_service::forward(client_message m, result_handler done) {
    // The stream keeps about max_pending messages for workers that are away.
    redis_->append_to_stream(
        stream_, webhook_body(cfg_.name, m), cfg_.max_pending,
        [done = std::move(done), name = cfg_.name](bool stored) {
            if (stored) return done(service_result{});
            done(service_result::failed(protocol::client_error::service_unavailable,
                                        "the queue of " + name + " is unavailable (Redis)"));
        });
}

}  // namespace wsgate
