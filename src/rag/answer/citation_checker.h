// CitationChecker: verifies the citations of a generated answer against the
// passages it was given. A marker "[n]" must name a given passage; a quoted
// span ("..." or “...”) in the same sentence before the marker must occur in
// that passage (case- and spacing-insensitive). Failing markers are removed
// from the text and counted. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rag/answer/answer.h"

namespace lathe::rag {

// Returns the cleaned text, one citation per distinct valid passage (in order
// of first mention; quote = the verified quoted span, else the passage's
// sentence sharing most words with the citing sentence) and the number of
// removed markers.
Answer CheckCitations(const std::string& generated, const std::vector<Passage>& passages);

// Lower-cased, whitespace-collapsed, with typographic quotes and dashes made
// plain: the form in which quotes are compared.
std::string NormalizeForQuote(const std::string& text);

}  // namespace lathe::rag
