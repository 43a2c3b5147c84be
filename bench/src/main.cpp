// wsgate-bench: drives a running wsgate over its public interfaces and measures it
// (docs/performance.md).
#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "context.hpp"
#include "modes.hpp"

using namespace wsgate_bench;

namespace {

void run_mode(const bench_context& context, report& out) {
    switch (context.options.mode) {
        case bench_mode::fanout:
            return run_fanout(context, out);
        case bench_mode::idle:
            return run_idle(context, out);
        case bench_mode::churn:
            return run_churn(context, out);
        case bench_mode::recover:
            return run_recover(context, out);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    bench_context context;
    try {
        const bench_options options = parse_options(argc, argv);
        if (options.help) {
            std::fputs(usage_text().c_str(), stdout);
            return 0;
        }
        context = make_context(options);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "wsgate-bench: %s\n(--help lists the flags)\n", e.what());
        return 2;
    }
    report out(mode_name(context.options.mode));
    run_mode(context, out);
    out.print(context.options.json_only);
    if (!out.ok()) std::fprintf(stderr, "wsgate-bench: FAILED: %s\n", out.first_failure().c_str());
    return out.ok() ? 0 : 1;
}
