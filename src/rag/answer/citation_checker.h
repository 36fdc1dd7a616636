// CitationChecker: verifies the citations of a generated answer against the
// passages it was given. A marker "[n]" must name a given passage; a quoted
// span ("..." or “...”) in the same sentence before the marker must occur in
// that passage (case- and spacing-insensitive). Failing markers are removed
// from the text and counted. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rag/answer/answer.h"

namespace lathe::rag {

// Returns the cleaned text, one citation per distinct valid passage (in order
// of first mention; quote = the verified quoted span, else the passage's
// sentence sharing most words with the citing sentence) and the number of
// removed markers.
Answer CheckCitations(const std::string& generated, const std::vector<Passage>& passages);

// Drops, from streamed text as it arrives, every "[n]" marker that names no
// given passage (n not in `valid`), holding back only a possibly unfinished
// marker at the end of a piece. Quotes cannot be checked before the answer
// is complete: CheckCitations does that on the whole text. Not thread-safe.
class CitationStreamFilter {
 public:
  explicit CitationStreamFilter(std::vector<int> valid) : valid_(std::move(valid)) {}
  // The part of piece (after what was held back) that can be shown now.
  std::string Feed(std::string_view piece);
  // Whatever is still held back (an unfinished marker is shown as it is).
  std::string Flush();
  int removed() const { return removed_; }

 private:
  std::vector<int> valid_;
  std::string held_;  // "[" followed by up to 4 digits
  int removed_ = 0;
};

// Lower-cased, whitespace-collapsed, with typographic quotes and dashes made
// plain: the form in which quotes are compared.
std::string NormalizeForQuote(const std::string& text);

}  // namespace lathe::rag
