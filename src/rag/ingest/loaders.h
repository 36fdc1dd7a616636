// Loaders: parse one file's bytes into ParsedDocuments, by format. Markdown via
// cmark-gfm (with the table extension), HTML via libxml2's forgiving parser,
// PDF via poppler-cpp, BEIR JSONL via nlohmann::json, plain text by paragraphs.
// Stateless and thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rag/ingest/document.h"

namespace lathe::rag {

// The format for a file extension (".md" -> "md"), or "" when unsupported.
std::string FormatForPath(const std::string& path);

Result<ParsedDocument> LoadMarkdown(std::string_view data);
Result<ParsedDocument> LoadHtml(std::string_view data);
Result<ParsedDocument> LoadText(std::string_view data);
Result<ParsedDocument> LoadPdf(std::string_view data);

// BEIR corpus lines ({"_id","title","text"}). Each good line calls on_doc; each
// bad line calls on_error(line_number, reason) and is skipped.
// first_line numbers data's first line (for parsing a file in pieces).
void LoadJsonl(std::string_view data, const std::function<void(ParsedDocument&&)>& on_doc,
               const std::function<void(size_t, const std::string&)>& on_error, size_t first_line = 1);

// Dispatches on format for single-document formats (md, html, txt, pdf).
// Rejects binary data and invalid UTF-8 (other than in PDFs) with a reason.
Result<ParsedDocument> LoadDocument(const std::string& format, std::string_view data);

}  // namespace lathe::rag
