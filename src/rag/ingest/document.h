// ParsedDocument: the structure every loader produces and the chunker consumes:
// a title and a flat list of blocks (headings with a level, paragraphs, list
// items, tables and code kept as preformatted text). Plain value types.
#pragma once

#include <string>
#include <vector>

namespace lathe::rag {

struct Block {
  enum class Kind { kHeading, kParagraph, kListItem, kTable, kCode };
  Kind kind = Kind::kParagraph;
  int level = 0;  // heading level 1..6; 0 otherwise
  std::string text;
};

struct ParsedDocument {
  std::string id;      // BEIR _id or path relative to the ingest root
  std::string title;   // may be empty; the chunker falls back to the id
  std::string format;  // md, html, txt, pdf, jsonl
  std::string source;  // path of the file it came from
  std::vector<Block> blocks;
  std::string metadata_json = "{}";
};

}  // namespace lathe::rag
