#pragma once

#include <wsgate/config/config.hpp>

namespace wsgate {

/// Sets spdlog's default logger up as the configuration says: stderr, text or JSON lines.
void setup_logging(const config::log_section& log);

}  // namespace wsgate
