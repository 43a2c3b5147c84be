#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <wsgate/upstream/service.hpp>

namespace wsgate {

/// The `http` transport: POSTs each client message, signed, to the service's URL over a pool
/// of keep-alive connections (docs/services.md). Messages beyond the pool wait in a bounded
/// queue; one that waits or runs past the service's timeout fails with `timeout`. One client's
/// messages go one at a time, so the service sees them, and the client gets the answers, in
/// the order the client sent them.
class http_service final : public service, public std::enable_shared_from_this<http_service> {
public:
    http_service(boost::asio::any_io_executor ex, service_config cfg);
    ~http_service() override;

    void forward(client_message m, result_handler done) override;
    std::size_t open_connections() const override { return open_; }

private:
    class connection;
    struct job {
        std::string client;  ///< the client's connection id
        std::string body;
        result_handler done;
        std::chrono::steady_clock::time_point deadline;
        bool retried = false;  ///< sent once on a reused connection the service had closed
    };

    /// Gives waiting jobs to idle connections, opening new ones up to max_connections.
    void dispatch();
    void finished(const std::shared_ptr<connection>& c, const std::string& client, bool reusable);
    void retry(job j);
    void expire_waiting();
    void complete(job& j, service_result r);

    boost::asio::any_io_executor ex_;
    std::deque<job> waiting_;
    std::vector<std::shared_ptr<connection>> idle_;
    std::unordered_set<std::string> busy_clients_;  ///< clients with a message at the service
    std::size_t open_ = 0;  ///< connections busy or idle
    boost::asio::steady_timer expiry_;
    bool expiry_armed_ = false;

    friend class connection;
};

/// The JSON body the gateway POSTs for `m` to `service_name`.
std::string webhook_body(const std::string& service_name, const client_message& m);

}  // namespace wsgate
