// Tests for the format loaders: Markdown, HTML, plain text, PDF, BEIR JSONL
// and the LoadDocument dispatcher's input checks.
#include "rag/ingest/loaders.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "text/analyzer.h"

namespace lathe::rag {
namespace {

using Kind = Block::Kind;

std::vector<const Block*> BlocksOfKind(const ParsedDocument& doc, Kind kind) {
  std::vector<const Block*> out;
  for (const Block& b : doc.blocks) {
    if (b.kind == kind) out.push_back(&b);
  }
  return out;
}

std::string AllText(const ParsedDocument& doc) {
  std::string all;
  for (const Block& b : doc.blocks) all += b.text + "\n";
  return all;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- Markdown -----------------------------------------------------------------

const char kMarkdown[] = R"md(# Refund policy

We refund most orders within **14 days**.

## Eligibility

- Unused items
- Items with a receipt

### Prices

| Plan | Price |
|------|-------|
| Basic | $5 |
| Pro   | $10 |

```python
print("refund")

total = 1
```

1. First step
2. Second step
)md";

TEST(LoadMarkdown, TitleComesFromFirstH1) {
  Result<ParsedDocument> doc = LoadMarkdown(kMarkdown);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->title, "Refund policy");
  EXPECT_EQ(doc->format, "md");
}

TEST(LoadMarkdown, HeadingsKeepTheirLevels) {
  ParsedDocument doc = LoadMarkdown(kMarkdown).value();
  std::vector<std::pair<int, std::string>> headings;
  for (const Block* b : BlocksOfKind(doc, Kind::kHeading)) headings.emplace_back(b->level, b->text);
  EXPECT_EQ(headings, (std::vector<std::pair<int, std::string>>{
                          {1, "Refund policy"}, {2, "Eligibility"}, {3, "Prices"}}));
}

TEST(LoadMarkdown, InlineMarkupIsFlattenedIntoParagraphText) {
  ParsedDocument doc = LoadMarkdown(kMarkdown).value();
  std::vector<const Block*> paragraphs = BlocksOfKind(doc, Kind::kParagraph);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0]->text, "We refund most orders within 14 days.");
}

TEST(LoadMarkdown, GfmTableBecomesOneTableBlock) {
  ParsedDocument doc = LoadMarkdown(kMarkdown).value();
  std::vector<const Block*> tables = BlocksOfKind(doc, Kind::kTable);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0]->text, "Plan | Price\nBasic | $5\nPro | $10\n");
}

TEST(LoadMarkdown, FencedCodeIsOneCodeBlock) {
  ParsedDocument doc = LoadMarkdown(kMarkdown).value();
  std::vector<const Block*> code = BlocksOfKind(doc, Kind::kCode);
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0]->text, "print(\"refund\")\n\ntotal = 1\n");
}

TEST(LoadMarkdown, ListsBecomeListItems) {
  ParsedDocument doc = LoadMarkdown(kMarkdown).value();
  std::vector<std::string> items;
  for (const Block* b : BlocksOfKind(doc, Kind::kListItem)) items.push_back(b->text);
  EXPECT_EQ(items, (std::vector<std::string>{"Unused items", "Items with a receipt", "First step", "Second step"}));
}

TEST(LoadMarkdown, BlocksFollowDocumentOrder) {
  ParsedDocument doc = LoadMarkdown(kMarkdown).value();
  std::vector<Kind> kinds;
  for (const Block& b : doc.blocks) kinds.push_back(b.kind);
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kHeading, Kind::kParagraph, Kind::kHeading, Kind::kListItem,
                                      Kind::kListItem, Kind::kHeading, Kind::kTable, Kind::kCode,
                                      Kind::kListItem, Kind::kListItem}));
}

TEST(LoadMarkdown, NoH1MeansNoTitle) {
  ParsedDocument doc = LoadMarkdown("## Only a section\n\nSome text.\n").value();
  EXPECT_EQ(doc.title, "");
}

TEST(LoadMarkdown, DocumentWithoutTextIsRejected) {
  Result<ParsedDocument> doc = LoadMarkdown("\n\n---\n\n<!-- comment -->\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
}

// ---- HTML ---------------------------------------------------------------------

const char kHtml[] = R"html(<!DOCTYPE html>
<html>
<head>
  <title>Shipping times - Quillstack Help Centre</title>
  <style>.banner { color: red; }</style>
  <script>var trackingSecret = "xyzzy";</script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/products">Products menu</a></nav>
  <div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
  <div id="consent-popup">Consent manager text</div>
  <main>
    <h1>Shipping times &amp; carriers</h1>
    <p>Orders leave our warehouse in 2 days. Caf&eacute; orders &lt;ship&gt; separately&nbsp;too.</p>
    <h2>Carriers</h2>
    <ul><li>Royal Mail</li><li>DHL &ndash; express</li></ul>
    <table>
      <thead><tr><th>Region</th><th>Days</th></tr></thead>
      <tbody><tr><td>UK</td><td>1-2</td></tr><tr><td>EU</td><td>3-5</td></tr></tbody>
    </table>
    <pre>tracking --order 42</pre>
  </main>
  <script>trackUser("page-view");</script>
  <footer>Copyright footer text</footer>
</body>
</html>
)html";

TEST(LoadHtml, H1WinsOverTitleElement) {
  Result<ParsedDocument> doc = LoadHtml(kHtml);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->title, "Shipping times & carriers");
  EXPECT_EQ(doc->format, "html");
}

TEST(LoadHtml, TitleElementUsedWithoutH1) {
  ParsedDocument doc =
      LoadHtml("<html><head><title>Page  title</title></head><body><p>Body text.</p></body></html>").value();
  EXPECT_EQ(doc.title, "Page title");
}

TEST(LoadHtml, BoilerplateTextIsDropped) {
  ParsedDocument doc = LoadHtml(kHtml).value();
  const std::string all = AllText(doc);
  for (const char* banned : {"Home", "Products menu", "cookies", "Accept all", "Consent manager", "trackingSecret",
                             "xyzzy", "trackUser", "color: red", "Copyright footer", "Quillstack Help Centre"}) {
    EXPECT_FALSE(Contains(all, banned)) << "'" << banned << "' leaked into:\n" << all;
  }
}

TEST(LoadHtml, EntitiesAreDecoded) {
  ParsedDocument doc = LoadHtml(kHtml).value();
  std::vector<const Block*> paragraphs = BlocksOfKind(doc, Kind::kParagraph);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0]->text, "Orders leave our warehouse in 2 days. Café orders <ship> separately too.");
  EXPECT_TRUE(Contains(AllText(doc), "DHL \xE2\x80\x93 express"));  // &ndash;
}

TEST(LoadHtml, StructureBecomesBlocks) {
  ParsedDocument doc = LoadHtml(kHtml).value();
  std::vector<std::pair<int, std::string>> headings;
  for (const Block* b : BlocksOfKind(doc, Kind::kHeading)) headings.emplace_back(b->level, b->text);
  EXPECT_EQ(headings, (std::vector<std::pair<int, std::string>>{{1, "Shipping times & carriers"}, {2, "Carriers"}}));
  std::vector<std::string> items;
  for (const Block* b : BlocksOfKind(doc, Kind::kListItem)) items.push_back(b->text);
  EXPECT_EQ(items, (std::vector<std::string>{"Royal Mail", "DHL \xE2\x80\x93 express"}));
  std::vector<const Block*> code = BlocksOfKind(doc, Kind::kCode);
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0]->text, "tracking --order 42");
}

TEST(LoadHtml, TableRowsBecomeLines) {
  ParsedDocument doc = LoadHtml(kHtml).value();
  std::vector<const Block*> tables = BlocksOfKind(doc, Kind::kTable);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0]->text, "Region | Days\nUK | 1-2\nEU | 3-5\n");
}

TEST(LoadHtml, PageOfOnlyBoilerplateIsRejected) {
  Result<ParsedDocument> doc =
      LoadHtml("<html><body><nav>Menu</nav><script>x()</script><div class=\"cookie\">Cookies</div></body></html>");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
}

// ---- plain text ---------------------------------------------------------------

const char kText[] =
    "Tracking your order\n"
    "\n"
    "Every order gets a tracking number by email\n"
    "once it leaves the warehouse.\n"
    "\n"
    "WHERE TO FIND IT\n"
    "\n"
    "Open the order page and look for the carrier link.\n"
    "- Royal Mail orders\n"
    "- DHL orders\n"
    "\n"
    "Short line without caps\n"
    "\n"
    "THIS ALL CAPS LINE ENDS WITH A STOP.\n";

TEST(LoadText, FirstLineIsTheTitle) {
  Result<ParsedDocument> doc = LoadText(kText);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->title, "Tracking your order");
  EXPECT_EQ(doc->format, "txt");
  EXPECT_FALSE(Contains(AllText(*doc), "Tracking your order"));
}

TEST(LoadText, AOneLineFileIsAlsoItsBody) {
  Result<ParsedDocument> doc = LoadText("Customer parking is free for the first ninety minutes.\n");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->title, "Customer parking is free for the first ninety minutes.");
  ASSERT_EQ(doc->blocks.size(), 1u);
  EXPECT_EQ(doc->blocks[0].text, doc->title);
}

TEST(LoadText, AllCapsLinesBecomeHeadings) {
  ParsedDocument doc = LoadText(kText).value();
  std::vector<std::string> headings;
  for (const Block* b : BlocksOfKind(doc, Kind::kHeading)) headings.push_back(b->text);
  EXPECT_EQ(headings, std::vector<std::string>{"WHERE TO FIND IT"});
}

TEST(LoadText, ParagraphsJoinLinesAndBulletsBecomeListItems) {
  ParsedDocument doc = LoadText(kText).value();
  std::vector<std::string> paragraphs;
  for (const Block* b : BlocksOfKind(doc, Kind::kParagraph)) paragraphs.push_back(b->text);
  EXPECT_EQ(paragraphs, (std::vector<std::string>{
                            "Every order gets a tracking number by email once it leaves the warehouse.",
                            "Open the order page and look for the carrier link.", "Short line without caps",
                            "THIS ALL CAPS LINE ENDS WITH A STOP."}));
  std::vector<std::string> items;
  for (const Block* b : BlocksOfKind(doc, Kind::kListItem)) items.push_back(b->text);
  EXPECT_EQ(items, (std::vector<std::string>{"Royal Mail orders", "DHL orders"}));
}

TEST(LoadText, WindowsLineEndings) {
  ParsedDocument doc = LoadText("Title line\r\n\r\nBody text here.\r\n").value();
  EXPECT_EQ(doc.title, "Title line");
  ASSERT_EQ(doc.blocks.size(), 1u);
  EXPECT_EQ(doc.blocks[0].text, "Body text here.");
}

TEST(LoadText, BlankLinesOnlyIsRejected) {
  Result<ParsedDocument> doc = LoadText("\n  \n\t\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
}

// ---- PDF ----------------------------------------------------------------------

std::string SamplePdf() {
  const std::string path =
      std::string(LATHE_SOURCE_DIR) + "/examples/support-kb/shipping-and-hardware/reader-q2-quick-start-guide.pdf";
  Result<std::string> data = ReadFile(path);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? data.value() : std::string();
}

TEST(LoadPdf, ExtractsTitleAndText) {
  std::string data = SamplePdf();
  ASSERT_FALSE(data.empty());
  Result<ParsedDocument> doc = LoadPdf(data);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->title, "Quillstack Reader Q2 quick-start guide");
  EXPECT_EQ(doc->format, "pdf");
  const std::string all = AllText(*doc);
  for (const char* word : {"USB-C", "Bluetooth", "Quillstack app", "PIN pad", "Charge the reader"}) {
    EXPECT_TRUE(Contains(all, word)) << word;
  }
  EXPECT_TRUE(text::IsValidUtf8(all));
}

TEST(LoadPdf, LoadDocumentAcceptsPdfBytes) {
  std::string data = SamplePdf();
  ASSERT_FALSE(data.empty());
  Result<ParsedDocument> doc = LoadDocument("pdf", data);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->title, "Quillstack Reader Q2 quick-start guide");
}

TEST(LoadPdf, NonPdfBytesAreRejected) {
  Result<ParsedDocument> doc = LoadPdf("This is plain text, not a PDF.");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(doc.status().message(), "not a PDF")) << doc.status().message();
  EXPECT_EQ(LoadPdf("").status().code(), StatusCode::kInvalidArgument);
}

TEST(LoadPdf, TruncatedPdfIsRejectedWithReadableMessage) {
  std::string data = SamplePdf();
  ASSERT_GT(data.size(), 2000u);
  for (size_t keep : {size_t{8}, size_t{400}, size_t{2000}}) {
    Result<ParsedDocument> doc = LoadPdf(data.substr(0, keep));
    ASSERT_FALSE(doc.ok()) << "kept " << keep << " bytes";
    EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(doc.status().message(), "PDF")) << doc.status().message();
  }
}

// ---- JSONL --------------------------------------------------------------------

TEST(LoadJsonl, GoodLinesBecomeDocumentsAndBadLinesAreReported) {
  const std::string data =
      "{\"_id\": \"d1\", \"title\": \"First  doc\", \"text\": \"Hello world.\", \"metadata\": {\"lang\": \"en\"}}\n"
      "this is not json\n"
      "[1, 2, 3]\n"
      "{\"title\": \"No id\", \"text\": \"x\"}\n"
      "{\"_id\": \"d5\", \"title\": \"No text\"}\n"
      "{\"_id\": \"d6\", \"text\": \"caf\xFF\"}\n"
      "\n"
      "{\"_id\": 42, \"text\": \"Numeric id.\"}\r\n"
      "{\"_id\": \"d9\", \"text\": 17}\n"
      "{\"_id\": \"d10\", \"text\": \"last line without newline\"}";
  std::vector<ParsedDocument> docs;
  std::vector<std::pair<size_t, std::string>> errors;
  LoadJsonl(
      data, [&](ParsedDocument&& d) { docs.push_back(std::move(d)); },
      [&](size_t line, const std::string& reason) { errors.emplace_back(line, reason); });

  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].id, "d1");
  EXPECT_EQ(docs[0].title, "First doc");
  EXPECT_EQ(docs[0].format, "jsonl");
  ASSERT_EQ(docs[0].blocks.size(), 1u);
  EXPECT_EQ(docs[0].blocks[0].text, "Hello world.");
  EXPECT_EQ(docs[0].metadata_json, "{\"lang\":\"en\"}");
  EXPECT_EQ(docs[1].id, "42");
  EXPECT_EQ(docs[2].id, "d10");

  ASSERT_EQ(errors.size(), 6u);
  const std::pair<size_t, const char*> expected[] = {
      {2, "not valid JSON"}, {3, "not a JSON object"}, {4, "_id"}, {5, "text"}, {6, "invalid UTF-8"}, {9, "text"}};
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i].first, expected[i].first) << i;
    EXPECT_TRUE(Contains(errors[i].second, expected[i].second))
        << "line " << errors[i].first << ": " << errors[i].second;
  }
}

TEST(LoadJsonl, EmptyInputCallsNothing) {
  int calls = 0;
  LoadJsonl(
      "", [&](ParsedDocument&&) { ++calls; }, [&](size_t, const std::string&) { ++calls; });
  LoadJsonl(
      "\n  \n\n", [&](ParsedDocument&&) { ++calls; }, [&](size_t, const std::string&) { ++calls; });
  EXPECT_EQ(calls, 0);
}

// ---- LoadDocument -------------------------------------------------------------

TEST(LoadDocument, RejectsEmptyBinaryAndInvalidUtf8) {
  struct Case {
    std::string format;
    std::string data;
    const char* reason;
  };
  const Case cases[] = {
      {"md", "", "empty"},
      {"txt", "", "empty"},
      {"md", std::string("# Title\n\nbinary\0data\n", 21), "NUL"},
      {"html", std::string("<p>a\0b</p>", 10), "binary"},
      {"txt", "Title\n\nBad byte \xFF here.\n", "invalid UTF-8"},
      {"md", "# Caf\xC3\n\ntext\n", "invalid UTF-8"},
  };
  for (const Case& c : cases) {
    Result<ParsedDocument> doc = LoadDocument(c.format, c.data);
    ASSERT_FALSE(doc.ok()) << c.format << " " << testing::PrintToString(c.data);
    EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(doc.status().message(), c.reason)) << doc.status().message();
  }
}

TEST(LoadDocument, DispatchesOnFormat) {
  EXPECT_EQ(LoadDocument("md", "# T\n\nx\n")->format, "md");
  EXPECT_EQ(LoadDocument("html", "<p>x</p>")->format, "html");
  EXPECT_EQ(LoadDocument("txt", "T\n\nx\n")->format, "txt");
  EXPECT_EQ(LoadDocument("docx", "x").status().code(), StatusCode::kUnsupported);
}

TEST(FormatForPath, MapsExtensions) {
  const std::pair<const char*, const char*> cases[] = {
      {"a/b/readme.md", "md"}, {"x.MARKDOWN", "md"}, {"page.htm", "html"}, {"page.HTML", "html"},
      {"notes.txt", "txt"},    {"guide.pdf", "pdf"}, {"corpus.jsonl", "jsonl"}, {"image.png", ""},
      {"Makefile", ""},
  };
  for (const auto& [path, format] : cases) EXPECT_EQ(FormatForPath(path), format) << path;
}

}  // namespace
}  // namespace lathe::rag
