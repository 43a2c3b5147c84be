#pragma once

#include <memory>

#include <wsgate/upstream/service.hpp>

namespace wsgate {

class redis_bus;

/// The `queue` transport (docs/services.md): each client message is appended to the service's
/// Redis Stream `<redis.prefix>svc:<name>`; workers read it with a consumer group (so several
/// share the load and nothing is lost while none runs) and answer through the REST API.
class queue_service final : public service {
public:
    queue_service(service_config cfg, std::shared_ptr<redis_bus> redis);

    void forward(client_message m, result_handler done) override;

    /// The stream this service's messages go to.
    const std::string& stream() const { return stream_; }

private:
    std::shared_ptr<redis_bus> redis_;
    std::string stream_;
};

}  // namespace wsgate
