#pragma once

#include <chrono>
#include <functional>

namespace wsgate::test {

/// Calls `condition` every `interval` until it returns true or `timeout` has passed; returns its
/// last answer. Use it instead of a blind sleep whenever the server changes state asynchronously.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(5),
                std::chrono::milliseconds interval = std::chrono::milliseconds(10));

}  // namespace wsgate::test
