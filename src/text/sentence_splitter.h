// Sentence boundaries for UTF-8 text, using ICU's rule-based sentence break
// iterator with the standard abbreviation suppressions ("e.g.", "Dr.").
// Thread-safe: each call builds or reuses a per-thread iterator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lathe::text {

// Splits text into sentences; each keeps its trailing whitespace trimmed.
// Empty sentences are dropped. Never fails: on an ICU error the whole text is
// returned as one sentence.
std::vector<std::string> SplitSentences(std::string_view text);

}  // namespace lathe::text
