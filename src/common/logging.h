// Logging: spdlog to stderr, one line per event. Call InitLogging once at start-up;
// LATHE_LOG macros are thread-safe afterwards.
#pragma once

#include <spdlog/spdlog.h>

namespace lathe {
// level: "debug", "info", "warn", "error", "off".
void InitLogging(const std::string& level);
}  // namespace lathe

#define LOG_DEBUG(...) spdlog::debug(__VA_ARGS__)
#define LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define LOG_WARN(...) spdlog::warn(__VA_ARGS__)
#define LOG_ERROR(...) spdlog::error(__VA_ARGS__)
