#pragma once

#include <string>
#include <vector>

namespace wsgate_bench {

// The results of one run, printed for humans (one line per figure) and as one JSON line
// (`JSON {...}`, printed last) from the same list, so the two never disagree.
class report {
  public:
    explicit report(std::string mode) : mode_(std::move(mode)) {}

    void add_number(const std::string& key, const std::string& label, double value,
                    int decimals = 0, const std::string& unit = "");
    void add_text(const std::string& key, const std::string& label, const std::string& text);
    // Records a reason for a non-zero exit status.
    void fail(const std::string& why);
    bool ok() const { return failures_.empty(); }
    const std::string& first_failure() const { return failures_.front(); }
    void print(bool json_only) const;

  private:
    struct field {
        std::string key;
        std::string label;
        std::string text;  // empty for numbers
        double number;
        int decimals;
        std::string unit;
    };
    std::string mode_;
    std::vector<field> fields_;
    std::vector<std::string> failures_;
};

}  // namespace wsgate_bench
