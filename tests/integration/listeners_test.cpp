// The public listener and the optional separate API listener.

#include <gtest/gtest.h>

#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

TEST(listeners, api_equals_public_when_no_api_listener_is_set) {
    gateway_process gw;
    EXPECT_EQ(gw.api_port(), gw.public_port());
}

TEST(listeners, separate_api_listener_serves_the_api_and_the_public_one_does_not) {
    gateway_process gw({"--server.api_listen", "127.0.0.1:0"});
    ASSERT_NE(gw.api_port(), gw.public_port());
    http_client api(gw.api_port());
    http_client public_side(gw.public_port());
    ws_client client;
    client.connect(gw.public_port());
    client.subscribe("news");

    const std::string id = api.publish_ok(channel_event("news", "via-api"));
    expect_event(client.read_json(), id, "via-api", "news");

    expect_rest_error(public_side.publish(channel_event("news", "via-public")), 404, "not_found");
    expect_rest_error(public_side.get("/metrics"), 404, "not_found");
    EXPECT_EQ(public_side.get("/healthz").status, 200u);
    EXPECT_EQ(public_side.get("/readyz").status, 200u);
    EXPECT_EQ(api.get("/metrics").status, 200u);
    expect_marker_next(api, {&client});
}

TEST(listeners, fixed_listen_address_given_with_an_equals_sign_is_used) {
    gateway_process gw({"--server.listen=127.0.0.1:0"});
    ws_client client;
    EXPECT_EQ(client.connect(gw.public_port())["type"], "welcome");
}

TEST(listeners, custom_ws_path_is_the_only_upgrade_path) {
    gateway_process gw({"--server.ws_path", "/socket"});
    ws_client on_custom, on_default;
    EXPECT_EQ(on_custom.connect(gw.public_port(), "/socket")["version"], 1);
    EXPECT_EQ(on_default.try_connect(gw.public_port(), "/ws").status, 404u);
}

}  // namespace
}  // namespace wsgate::test
