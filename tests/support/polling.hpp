#pragma once

#include <chrono>
#include <functional>

namespace wsgate::test {

/// Calls `condition` every `interval` until it returns true or `timeout` has passed; returns its
/// last answer. Use it instead of a blind sleep whenever the server changes state asynchronously.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(5),
                std::chrono::milliseconds interval = std::chrono::milliseconds(10));

/// Milliseconds from `since` to now.
long long elapsed_ms(std::chrono::steady_clock::time_point since);

}  // namespace wsgate::test
