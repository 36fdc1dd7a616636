#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace lathe {

void InitLogging(const std::string& level) {
  auto logger = spdlog::get("lathe");
  if (!logger) logger = spdlog::stderr_color_mt("lathe");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace lathe
