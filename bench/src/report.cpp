#include "report.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace wsgate_bench {

namespace {

double rounded(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

}  // namespace

void report::add_number(const std::string& key, const std::string& label, double value,
                        int decimals, const std::string& unit) {
    fields_.push_back({key, label, "", value, decimals, unit});
}

void report::add_text(const std::string& key, const std::string& label, const std::string& text) {
    fields_.push_back({key, label, text, 0, 0, ""});
}

void report::fail(const std::string& why) { failures_.push_back(why); }

void report::print(bool json_only) const {
    nlohmann::ordered_json summary;
    summary["mode"] = mode_;
    if (!json_only) std::printf("wsgate-bench %s\n", mode_.c_str());
    for (const auto& f : fields_) {
        if (f.text.empty()) {
            const double value = rounded(f.number, f.decimals);
            if (f.decimals == 0)
                summary[f.key] = std::int64_t(value);
            else
                summary[f.key] = value;
            if (!json_only)
                std::printf("  %-34s %.*f%s%s\n", (f.label + ":").c_str(), f.decimals, value,
                            f.unit.empty() ? "" : " ", f.unit.c_str());
        } else {
            summary[f.key] = f.text;
            if (!json_only) std::printf("  %-34s %s\n", (f.label + ":").c_str(), f.text.c_str());
        }
    }
    summary["ok"] = ok();
    summary["failures"] = failures_;
    if (!json_only)
        for (const auto& why : failures_) std::printf("FAIL: %s\n", why.c_str());
    std::printf("JSON %s\n", summary.dump().c_str());
    std::fflush(stdout);
}

}  // namespace wsgate_bench
