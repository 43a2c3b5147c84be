#include "prometheus_text.hpp"

#include <limits>
#include <sstream>
#include <stdexcept>

namespace wsgate::test {
namespace {

/// Parses `{k="v",...}` starting at text[pos] == '{'; returns the position after '}'.
std::size_t parse_labels(const std::string& text, std::size_t pos,
                         std::map<std::string, std::string>& labels) {
    ++pos;  // '{'
    while (pos < text.size() && text[pos] != '}') {
        const auto eq = text.find('=', pos);
        if (eq == std::string::npos || eq + 1 >= text.size() || text[eq + 1] != '"') {
            throw std::invalid_argument("bad label set in: " + text);
        }
        std::string key = text.substr(pos, eq - pos);
        std::string value;
        pos = eq + 2;
        while (pos < text.size() && text[pos] != '"') {
            if (text[pos] == '\\' && pos + 1 < text.size()) {
                ++pos;
                value += text[pos] == 'n' ? '\n' : text[pos];
            } else {
                value += text[pos];
            }
            ++pos;
        }
        ++pos;  // closing quote
        labels[key] = value;
        if (pos < text.size() && text[pos] == ',') {
            ++pos;
        }
    }
    return pos + 1;
}

}  // namespace

series_key parse_series(const std::string& text) {
    series_key key;
    const auto brace = text.find('{');
    key.name = text.substr(0, brace);
    if (brace != std::string::npos) {
        parse_labels(text, brace, key.labels);
    }
    return key;
}

std::optional<double> find_series(const std::string& metrics_body, const std::string& series) {
    const series_key wanted = parse_series(series);
    std::istringstream lines(metrics_body);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        series_key key;
        std::size_t pos = line.find_first_of("{ ");
        if (pos == std::string::npos) {
            continue;
        }
        key.name = line.substr(0, pos);
        if (line[pos] == '{') {
            pos = parse_labels(line, pos, key.labels);
        }
        if (!(key == wanted)) {
            continue;
        }
        std::istringstream value_text(line.substr(pos));
        std::string value;
        value_text >> value;  // a timestamp may follow; ignore it
        if (value == "+Inf") {
            return std::numeric_limits<double>::infinity();
        }
        return std::stod(value);
    }
    return std::nullopt;
}

}  // namespace wsgate::test
