// Wall-clock time in the two forms the stores keep: ISO-8601 UTC text and
// Unix seconds. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace lathe {

// "2026-12-01T08:12:49Z".
std::string NowIso();
// Seconds since the Unix epoch.
int64_t UnixSeconds();

}  // namespace lathe
