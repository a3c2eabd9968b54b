#include "base/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace keepsake::log {

void Init(std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("keepsake");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

}  // namespace keepsake::log
