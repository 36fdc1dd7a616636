// Chunker: splits a ParsedDocument into retrieval chunks. A chunk never spans
// two sections: headings start a new chunk and the heading path becomes the
// chunk's title. Within a section, text is packed up to a word budget, split at
// sentence boundaries, with a few sentences of overlap between neighbours.
// Tables and code blocks stay whole when they fit. Stateless; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rag/ingest/document.h"

namespace lathe::rag {

struct ChunkerOptions {
  size_t max_words = 200;     // budget per chunk, counted in words (Unicode letter/digit runs)
  size_t overlap_words = 40;  // carried from the end of a full chunk into the next
};

struct Chunk {
  std::string title;  // "Doc title > Section > Subsection"
  std::string text;
};

std::vector<Chunk> ChunkDocument(const ParsedDocument& doc, const ChunkerOptions& options = {});

}  // namespace lathe::rag
