// Client addresses behind the shipped HAProxy configuration (docker/haproxy.cfg, `option
// forwardfor`): HAProxy appends an X-Forwarded-For line of its own after whatever the client
// sent, so only the address HAProxy saw may count.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway_process.hpp"
#include "haproxy_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(forwarded_for, client_forging_x_forwarded_for_behind_haproxy_is_counted_against_its_address) {
    constexpr int per_ip = 2;
    // HAProxy reaches wsgate from 127.0.0.1, the only trusted proxy; the client comes from
    // 127.0.0.2 (any 127.x.y.z is loopback on Linux) and names a new address each time.
    gateway_process gw({"--server.trusted_proxies", "127.0.0.1", "--limits.max_connections_per_ip",
                        std::to_string(per_ip)});
    haproxy_process lb({gw.public_port(), gw.public_port(), gw.public_port()});
    const std::string client_address = "127.0.0.2";
    int forged = 0;
    const auto forger = [&](const std::string& from) {
        auto client = std::make_unique<ws_client>(10s);
        client->set_local_address(from);
        client->set_handshake_headers(
            {{"X-Forwarded-For", "198.51.100." + std::to_string(++forged)}});
        return client;
    };

    std::vector<std::unique_ptr<ws_client>> held;
    for (int i = 0; i < per_ip; ++i) {
        held.push_back(forger(client_address));
        held.back()->connect(lb.port());
    }
    const auto refused = forger(client_address)->try_connect(lb.port());

    EXPECT_FALSE(refused.upgraded);
    EXPECT_EQ(refused.status, 429u) << refused.body;
    const auto body = json::parse(refused.body, nullptr, false);
    EXPECT_EQ(body.is_object() ? body["error"].value("code", "") : "", "too_many_connections")
        << refused.body;
    EXPECT_NE(refused.body.find("too many connections from " + client_address),
              std::string::npos)
        << refused.body;
    EXPECT_EQ(http_client(gw.api_port())
                  .metric("wsgate_errors_total{source=\"handshake\",code=\"too_many_connections\"}"),
              1);
    // Another client machine is counted on its own, whatever it claims to be.
    auto other = forger("127.0.0.3");
    other->set_handshake_headers({{"X-Forwarded-For", client_address}});
    other->connect(lb.port());
    EXPECT_TRUE(other->ping());
    EXPECT_TRUE(held.front()->ping());
}

}  // namespace
}  // namespace wsgate::test
