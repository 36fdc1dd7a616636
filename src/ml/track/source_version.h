// The source version a binary was built from: `git describe --always --dirty`
// at build time, or "unknown" when built outside a git checkout. Recorded on
// every tracked run. Thread-safe.
#pragma once

#include <string>

namespace lathe::ml {

const std::string& SourceVersion();

}  // namespace lathe::ml
