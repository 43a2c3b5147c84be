// wsgate: a WebSocket gateway. Parses the configuration, binds, and runs one io_context.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

#include <wsgate/app/gateway.hpp>
#include <wsgate/app/logging.hpp>
#include <wsgate/config/config.hpp>
#include <wsgate/support/deadline_resolver.hpp>

int main(int argc, char** argv) {
    wsgate::load_result loaded;
    try {
        loaded = wsgate::load_config(std::vector<std::string>(argv + 1, argv + argc),
                                     wsgate::wsgate_environment());
    } catch (const wsgate::config_error& e) {
        std::cerr << "wsgate: configuration error: " << e.what() << '\n';
        return 2;
    }
    if (loaded.action == wsgate::config_action::help) {
        std::cout << wsgate::config_help();
        return 0;
    }
    if (loaded.action == wsgate::config_action::version) {
        std::cout << "wsgate " << WSGATE_VERSION << '\n';
        return 0;
    }

    const wsgate::config& cfg = loaded.cfg;
    wsgate::setup_logging(cfg.log);
    for (const auto& warning : loaded.warnings) spdlog::warn("{}", warning);

    boost::asio::io_context ioc{1};
    std::optional<wsgate::gateway> gw;
    try {
        gw.emplace(ioc, cfg);
    } catch (const wsgate::config_error& e) {  // the TLS files, read again
        std::cerr << "wsgate: configuration error: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {  // binding a listener, mostly
        spdlog::critical("cannot start: {}", e.what());
        return 1;
    }

    if (cfg.auth.insecure_dev_user)
        spdlog::warn("auth.insecure_dev_user is ON: any client can claim any user id "
                     "(development only, never in production)");
    if (cfg.auth.api_keys.empty())
        spdlog::warn("auth.api_keys is empty: anybody who reaches the REST API can publish");
    if (cfg.auth.jwt.algorithm.empty())
        spdlog::info("client tokens: off (auth.jwt.algorithm is empty); clients are anonymous");
    else
        spdlog::info("client tokens: {}; anonymous clients {}", cfg.auth.jwt.algorithm,
                     cfg.auth.anonymous ? "allowed" : "refused");
    if (cfg.server.allowed_origins.empty())
        spdlog::info("server.allowed_origins is empty: pages from any origin may connect");

    try {
        gw->start();
        const auto pub = gw->public_endpoint();
        const auto api = gw->api_endpoint();
        spdlog::info("wsgate {} instance {}: listening public={}:{} api={}:{}", WSGATE_VERSION,
                     cfg.server.instance_id, pub.address().to_string(), pub.port(),
                     api.address().to_string(), api.port());
        ioc.run();
    } catch (const boost::system::system_error& e) {
        spdlog::critical("cannot start: {}", e.what());
        return 1;
    }
    gw.reset();
    // Destroying the io_context joins Asio's resolver thread, which cannot be interrupted in
    // getaddrinfo(): a lookup that hangs (its DNS server gone) would hold the exit for as long
    // as the system's resolver takes. Everything else is done by now; leave without it.
    if (const auto lookups = wsgate::deadline_resolver::lookups_running(); lookups > 0) {
        spdlog::warn("exiting without waiting for {} host name lookup(s) still running",
                     lookups);
        spdlog::shutdown();
        std::fflush(nullptr);
        std::_Exit(0);
    }
    return 0;
}
