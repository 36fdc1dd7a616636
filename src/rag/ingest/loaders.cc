#include "rag/ingest/loaders.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "text/analyzer.h"

namespace lathe::rag {
namespace {

// Collapses runs of whitespace to one space and trims the ends.
std::string NormalizeSpace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
    } else {
      if (space && !out.empty()) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
  }
  // Non-breaking spaces (U+00A0) become plain spaces.
  for (size_t p; (p = out.find("\xC2\xA0")) != std::string::npos;) out.replace(p, 2, " ");
  return out;
}

void AddBlock(ParsedDocument* doc, Block::Kind kind, std::string text, int level = 0) {
  if (kind != Block::Kind::kCode && kind != Block::Kind::kTable) text = NormalizeSpace(text);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;
  doc->blocks.push_back(Block{kind, level, std::move(text)});
}

Status CheckText(std::string_view data) {
  size_t probe = std::min<size_t>(data.size(), 8192);
  if (std::memchr(data.data(), '\0', probe) != nullptr) return InvalidArgument("binary file (contains NUL bytes)");
  if (!text::IsValidUtf8(data)) return InvalidArgument("invalid UTF-8");
  return Status::OK();
}

Status RequireText(const ParsedDocument& doc) {
  if (doc.blocks.empty()) return InvalidArgument("no text content");
  return Status::OK();
}

// ---- Markdown (cmark-gfm) ---------------------------------------------------

void CollectInline(cmark_node* node, std::string* out) {
  for (cmark_node* child = cmark_node_first_child(node); child; child = cmark_node_next(child)) {
    switch (cmark_node_get_type(child)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
      case CMARK_NODE_HTML_INLINE:
        if (const char* lit = cmark_node_get_literal(child)) out->append(lit);
        break;
      case CMARK_NODE_SOFTBREAK:
        out->push_back(' ');
        break;
      case CMARK_NODE_LINEBREAK:
        out->push_back('\n');
        break;
      default:
        CollectInline(child, out);
        // Block children (paragraphs inside list items) are separated.
        if (cmark_node_first_child(child) && cmark_node_get_type(child) == CMARK_NODE_PARAGRAPH) out->push_back(' ');
    }
  }
}

void WalkMarkdown(cmark_node* node, ParsedDocument* doc) {
  for (cmark_node* child = cmark_node_first_child(node); child; child = cmark_node_next(child)) {
    std::string type = cmark_node_get_type_string(child);
    switch (cmark_node_get_type(child)) {
      case CMARK_NODE_HEADING: {
        std::string text;
        CollectInline(child, &text);
        AddBlock(doc, Block::Kind::kHeading, text, cmark_node_get_heading_level(child));
        continue;
      }
      case CMARK_NODE_PARAGRAPH: {
        std::string text;
        CollectInline(child, &text);
        AddBlock(doc, Block::Kind::kParagraph, text);
        continue;
      }
      case CMARK_NODE_CODE_BLOCK: {
        const char* lit = cmark_node_get_literal(child);
        AddBlock(doc, Block::Kind::kCode, lit ? lit : "");
        continue;
      }
      case CMARK_NODE_HTML_BLOCK:
      case CMARK_NODE_THEMATIC_BREAK:
        continue;
      case CMARK_NODE_ITEM: {
        // Item text from its paragraphs; nested lists become their own items.
        std::string text;
        for (cmark_node* part = cmark_node_first_child(child); part; part = cmark_node_next(part)) {
          if (cmark_node_get_type(part) == CMARK_NODE_LIST) continue;
          CollectInline(part, &text);
          text.push_back(' ');
        }
        AddBlock(doc, Block::Kind::kListItem, text);
        for (cmark_node* part = cmark_node_first_child(child); part; part = cmark_node_next(part)) {
          if (cmark_node_get_type(part) == CMARK_NODE_LIST) WalkMarkdown(part, doc);
        }
        continue;
      }
      default:
        break;
    }
    if (type == "table") {
      std::string table;
      for (cmark_node* row = cmark_node_first_child(child); row; row = cmark_node_next(row)) {
        std::string line;
        for (cmark_node* cell = cmark_node_first_child(row); cell; cell = cmark_node_next(cell)) {
          std::string text;
          CollectInline(cell, &text);
          if (!line.empty()) line += " | ";
          line += NormalizeSpace(text);
        }
        table += line + "\n";
      }
      AddBlock(doc, Block::Kind::kTable, table);
      continue;
    }
    WalkMarkdown(child, doc);  // lists, block quotes
  }
}

// ---- HTML (libxml2) ---------------------------------------------------------

bool IsSkippedElement(xmlNode* node) {
  static const char* kSkip[] = {"script", "style", "nav", "noscript", "template", "head", "footer",
                                "form", "button", "svg", "iframe", "select"};
  const char* name = reinterpret_cast<const char*>(node->name);
  for (const char* s : kSkip) {
    if (std::strcmp(name, s) == 0) return true;
  }
  // Boilerplate marked by role, id or class: navigation, cookie banners.
  for (const char* attr : {"role", "id", "class", "aria-label"}) {
    xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(attr));
    if (value == nullptr) continue;
    std::string v(reinterpret_cast<char*>(value));
    xmlFree(value);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "navigation" || v.find("cookie") != std::string::npos || v.find("consent") != std::string::npos ||
        v == "banner" || v.find("breadcrumb") != std::string::npos) {
      return true;
    }
  }
  return false;
}

void CollectHtmlText(xmlNode* node, std::string* out) {
  for (xmlNode* child = node->children; child; child = child->next) {
    if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
      if (child->content) out->append(reinterpret_cast<char*>(child->content));
    } else if (child->type == XML_ELEMENT_NODE) {
      if (IsSkippedElement(child)) continue;
      const char* name = reinterpret_cast<const char*>(child->name);
      if (std::strcmp(name, "br") == 0) {
        out->push_back('\n');
        continue;
      }
      bool cell = std::strcmp(name, "td") == 0 || std::strcmp(name, "th") == 0;
      CollectHtmlText(child, out);
      if (cell) out->append(" | ");
      if (std::strcmp(name, "tr") == 0 || std::strcmp(name, "li") == 0 || std::strcmp(name, "p") == 0) out->push_back('\n');
    }
  }
}

std::string TableText(xmlNode* table) {
  std::string out;
  std::function<void(xmlNode*)> rows = [&](xmlNode* n) {
    for (xmlNode* c = n->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (std::strcmp(reinterpret_cast<const char*>(c->name), "tr") == 0) {
        std::string line;
        for (xmlNode* cell = c->children; cell; cell = cell->next) {
          if (cell->type != XML_ELEMENT_NODE) continue;
          std::string text;
          CollectHtmlText(cell, &text);
          if (!line.empty()) line += " | ";
          line += NormalizeSpace(text);
        }
        out += line + "\n";
      } else {
        rows(c);
      }
    }
  };
  rows(table);
  return out;
}

void WalkHtml(xmlNode* node, ParsedDocument* doc) {
  std::string loose;  // text directly inside a container element
  auto flush = [&] {
    AddBlock(doc, Block::Kind::kParagraph, loose);
    loose.clear();
  };
  for (xmlNode* child = node->children; child; child = child->next) {
    if (child->type == XML_TEXT_NODE) {
      if (child->content) loose.append(reinterpret_cast<char*>(child->content));
      continue;
    }
    if (child->type != XML_ELEMENT_NODE || IsSkippedElement(child)) continue;
    std::string name = reinterpret_cast<const char*>(child->name);
    static const char* kInline[] = {"a", "b", "strong", "em", "i", "code", "span", "small", "sup", "sub", "abbr", "kbd", "mark", "u"};
    if (std::any_of(std::begin(kInline), std::end(kInline), [&](const char* s) { return name == s; })) {
      CollectHtmlText(child, &loose);
      continue;
    }
    flush();
    if (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6') {
      std::string text;
      CollectHtmlText(child, &text);
      AddBlock(doc, Block::Kind::kHeading, text, name[1] - '0');
    } else if (name == "p" || name == "dt" || name == "dd" || name == "figcaption" || name == "blockquote") {
      std::string text;
      CollectHtmlText(child, &text);
      AddBlock(doc, Block::Kind::kParagraph, text);
    } else if (name == "li") {
      std::string text;
      CollectHtmlText(child, &text);
      AddBlock(doc, Block::Kind::kListItem, text);
    } else if (name == "pre") {
      std::string text;
      CollectHtmlText(child, &text);
      AddBlock(doc, Block::Kind::kCode, text);
    } else if (name == "table") {
      AddBlock(doc, Block::Kind::kTable, TableText(child));
    } else if (name == "title") {
      std::string text;
      CollectHtmlText(child, &text);
      if (doc->title.empty()) doc->title = NormalizeSpace(text);
    } else {
      WalkHtml(child, doc);
    }
  }
  flush();
}

xmlNode* FindElement(xmlNode* node, const char* name) {
  for (xmlNode* n = node; n; n = n->next) {
    if (n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), name) == 0) return n;
    if (xmlNode* found = FindElement(n->children, name)) return found;
  }
  return nullptr;
}

// ---- plain text and PDF text ------------------------------------------------

bool LooksLikeHeading(const std::string& line) {
  if (line.empty() || line.size() > 80) return false;
  char last = line.back();
  if (last == '.' || last == ',' || last == ';' || last == ':' || last == '?' || last == '!') return false;
  size_t words = text::Analyzer::CountWords(line);
  return words > 0 && words <= 10;
}

bool IsAllCaps(const std::string& line) {
  bool letter = false;
  for (unsigned char c : line) {
    if (std::islower(c)) return false;
    if (std::isupper(c)) letter = true;
  }
  return letter;
}

// Paragraphs separated by blank lines; list items by leading "- ", "* " or
// "1. "; short standalone lines become headings when heading_rule says so.
void ParsePlainText(std::string_view data, ParsedDocument* doc, bool first_line_is_title,
                    const std::function<bool(const std::string&)>& heading_rule) {
  std::vector<std::string> paragraph;
  auto flush = [&] {
    if (paragraph.empty()) return;
    if (paragraph.size() == 1 && heading_rule(paragraph[0])) {
      AddBlock(doc, Block::Kind::kHeading, paragraph[0], 2);
    } else {
      std::string text;
      for (const std::string& line : paragraph) {
        // Join hyphenated line breaks ("config-\nuration") only in PDF-like text.
        if (!text.empty() && text.back() == '-' && !line.empty() && std::islower(static_cast<unsigned char>(line[0]))) {
          text.pop_back();
        } else if (!text.empty()) {
          text.push_back(' ');
        }
        text += line;
      }
      AddBlock(doc, Block::Kind::kParagraph, text);
    }
    paragraph.clear();
  };
  size_t pos = 0;
  bool title_taken = !first_line_is_title;
  while (pos <= data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) end = data.size();
    std::string line(data.substr(pos, end - pos));
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t' || line.back() == '\f')) line.pop_back();
    size_t lead = line.find_first_not_of(" \t\f");
    line = lead == std::string::npos ? std::string() : line.substr(lead);
    if (line.empty()) {
      flush();
      if (end == data.size()) break;
      continue;
    }
    if (!title_taken) {
      doc->title = NormalizeSpace(line);
      title_taken = true;
      continue;
    }
    bool bullet = line.rfind("- ", 0) == 0 || line.rfind("* ", 0) == 0 || line.rfind("\xE2\x80\xA2 ", 0) == 0;
    if (bullet) {
      flush();
      AddBlock(doc, Block::Kind::kListItem, line.substr(line[0] == '\xE2' ? 4 : 2));
      continue;
    }
    paragraph.push_back(line);
    if (end == data.size()) break;
  }
  flush();
}

std::once_flag g_cmark_once;

}  // namespace

std::string FormatForPath(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".md" || ext == ".markdown") return "md";
  if (ext == ".html" || ext == ".htm") return "html";
  if (ext == ".txt" || ext == ".text") return "txt";
  if (ext == ".pdf") return "pdf";
  if (ext == ".jsonl") return "jsonl";
  return "";
}

Result<ParsedDocument> LoadMarkdown(std::string_view data) {
  LATHE_RETURN_IF_ERROR(CheckText(data));
  std::call_once(g_cmark_once, [] { cmark_gfm_core_extensions_ensure_registered(); });
  cmark_parser* parser = cmark_parser_new(CMARK_OPT_DEFAULT);
  if (cmark_syntax_extension* table = cmark_find_syntax_extension("table")) {
    cmark_parser_attach_syntax_extension(parser, table);
  }
  cmark_parser_feed(parser, data.data(), data.size());
  cmark_node* root = cmark_parser_finish(parser);
  ParsedDocument doc;
  doc.format = "md";
  WalkMarkdown(root, &doc);
  cmark_node_free(root);
  cmark_parser_free(parser);
  for (const Block& b : doc.blocks) {
    if (b.kind == Block::Kind::kHeading && b.level == 1) {
      doc.title = b.text;
      break;
    }
  }
  LATHE_RETURN_IF_ERROR(RequireText(doc));
  return doc;
}

Result<ParsedDocument> LoadHtml(std::string_view data) {
  LATHE_RETURN_IF_ERROR(CheckText(data));
  htmlDocPtr html = htmlReadMemory(data.data(), static_cast<int>(data.size()), nullptr, "UTF-8",
                                   HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
  if (html == nullptr) return InvalidArgument("not parseable as HTML");
  ParsedDocument doc;
  doc.format = "html";
  xmlNode* root = xmlDocGetRootElement(html);
  if (root != nullptr) {
    if (xmlNode* title = FindElement(root, "title")) {
      std::string text;
      CollectHtmlText(title, &text);
      doc.title = NormalizeSpace(text);
    }
    xmlNode* body = FindElement(root, "body");
    WalkHtml(body ? body : root, &doc);
  }
  xmlFreeDoc(html);
  // The page's own <h1> names the article; <title> often carries a site suffix.
  for (const Block& b : doc.blocks) {
    if (b.kind == Block::Kind::kHeading && b.level == 1) {
      doc.title = b.text;
      break;
    }
  }
  LATHE_RETURN_IF_ERROR(RequireText(doc));
  return doc;
}

Result<ParsedDocument> LoadText(std::string_view data) {
  LATHE_RETURN_IF_ERROR(CheckText(data));
  ParsedDocument doc;
  doc.format = "txt";
  ParsePlainText(data, &doc, /*first_line_is_title=*/true,
                 [](const std::string& line) { return IsAllCaps(line) && LooksLikeHeading(line); });
  // A one-line file is its own content, not only a title.
  if (doc.blocks.empty() && !doc.title.empty()) doc.blocks.push_back({Block::Kind::kParagraph, 0, doc.title});
  LATHE_RETURN_IF_ERROR(RequireText(doc));
  return doc;
}

namespace {
void SilencePoppler(const std::string&, void*) {}
}  // namespace

Result<ParsedDocument> LoadPdf(std::string_view data) {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function(SilencePoppler, nullptr); });
  if (data.size() < 5 || data.substr(0, 5) != "%PDF-") return InvalidArgument("not a PDF (missing %PDF- header)");
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(data.data(), static_cast<int>(data.size())));
  if (!pdf) return InvalidArgument("PDF could not be parsed (damaged or truncated)");
  if (pdf->is_locked()) return InvalidArgument("PDF is encrypted");
  ParsedDocument doc;
  doc.format = "pdf";
  std::string all;
  for (int i = 0; i < pdf->pages(); ++i) {
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    if (!page) continue;
    poppler::byte_array utf8 = page->text(poppler::rectf(), poppler::page::physical_layout).to_utf8();
    all.append(utf8.begin(), utf8.end());
    all += "\n\n";
  }
  all = text::SanitizeUtf8(all);
  ParsePlainText(all, &doc, /*first_line_is_title=*/false, LooksLikeHeading);
  std::string info_title;
  poppler::byte_array t = pdf->get_title().to_utf8();
  info_title.assign(t.begin(), t.end());
  if (!info_title.empty()) {
    doc.title = NormalizeSpace(info_title);
  } else if (!doc.blocks.empty()) {
    doc.title = doc.blocks.front().text.substr(0, 120);
  }
  // A heading-only document (or nothing at all) has no usable text.
  bool has_body = std::any_of(doc.blocks.begin(), doc.blocks.end(),
                              [](const Block& b) { return b.kind != Block::Kind::kHeading; });
  if (!has_body) return InvalidArgument("PDF has no extractable text (scanned image?)");
  return doc;
}

void LoadJsonl(std::string_view data, const std::function<void(ParsedDocument&&)>& on_doc,
               const std::function<void(size_t, const std::string&)>& on_error, size_t first_line) {
  size_t pos = 0;
  size_t line_no = first_line - 1;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) end = data.size();
    std::string_view line = data.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      on_error(line_no, text::IsValidUtf8(line) ? "not valid JSON" : "invalid UTF-8");
      continue;
    }
    if (!j.is_object()) {
      on_error(line_no, "not a JSON object");
      continue;
    }
    auto id = j.find("_id");
    if (id == j.end() || !(id->is_string() || id->is_number_integer())) {
      on_error(line_no, "missing \"_id\" (string)");
      continue;
    }
    auto body = j.find("text");
    if (body == j.end() || !body->is_string()) {
      on_error(line_no, "missing \"text\" (string)");
      continue;
    }
    ParsedDocument doc;
    doc.format = "jsonl";
    doc.id = id->is_string() ? id->get<std::string>() : std::to_string(id->get<int64_t>());
    if (doc.id.empty()) {
      on_error(line_no, "empty \"_id\"");
      continue;
    }
    auto title = j.find("title");
    if (title != j.end() && title->is_string()) doc.title = NormalizeSpace(title->get<std::string>());
    auto meta = j.find("metadata");
    if (meta != j.end() && meta->is_object()) doc.metadata_json = meta->dump();
    AddBlock(&doc, Block::Kind::kParagraph, body->get<std::string>());
    if (doc.blocks.empty() && doc.title.empty()) {
      on_error(line_no, "empty \"text\" and \"title\"");
      continue;
    }
    on_doc(std::move(doc));
  }
}

Result<ParsedDocument> LoadDocument(const std::string& format, std::string_view data) {
  if (data.empty()) return InvalidArgument("empty file");
  if (format == "md") return LoadMarkdown(data);
  if (format == "html") return LoadHtml(data);
  if (format == "txt") return LoadText(data);
  if (format == "pdf") return LoadPdf(data);
  return Unsupported("unsupported format '" + format + "'");
}

}  // namespace lathe::rag
