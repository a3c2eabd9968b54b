// Logging for Keepsake binaries: one spdlog logger writing to stderr.
//
// Lower layers return errors and do not log (STYLE.md §2); the service, web and CLI layers
// log. Never pass a secret to a log call. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

namespace keepsake::log {

// Sets the process-wide logger to stderr with `level` ("info", "debug", "warn", ...).
void Init(std::string_view level);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace keepsake::log
