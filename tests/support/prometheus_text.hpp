#pragma once

#include <map>
#include <optional>
#include <string>

namespace wsgate::test {

/// One series of the Prometheus text exposition format: a name and its labels.
struct series_key {
    std::string name;
    std::map<std::string, std::string> labels;

    bool operator==(const series_key& other) const {
        return name == other.name && labels == other.labels;
    }
};

/// Parses `name` or `name{label="value",...}` (label order does not matter).
series_key parse_series(const std::string& text);

/// The value of `series` (e.g. `wsgate_errors_total{source="ws",code="invalid_json"}`) in a
/// /metrics body, or nullopt when the body has no such series.
std::optional<double> find_series(const std::string& metrics_body, const std::string& series);

}  // namespace wsgate::test
