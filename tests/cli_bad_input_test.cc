// End-to-end: every kind of bad input file gets a one-line message naming the
// file and the reason, is skipped, and the exit status is non-zero only when
// nothing could be ingested.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lathe::test {
namespace {

using nlohmann::json;

const std::string kKb = std::string(LATHE_SOURCE_DIR) + "/examples/support-kb";

RunResult Lathe(const TempDir& dir, std::vector<std::string> args) { return RunLathe(dir / "data", std::move(args)); }

// A valid one-page PDF with no text on the page.
std::string BlankPdf() {
  std::string body = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  auto obj = [&](const std::string& text) {
    offsets.push_back(body.size());
    body += text;
  };
  obj("1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
  obj("2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
  obj("3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n");
  size_t xref = body.size();
  body += "xref\n0 4\n0000000000 65535 f \n";
  for (size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    body += line;
  }
  body += "trailer << /Size 4 /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return body;
}

// The stderr line about a given file, or "".
std::string LineAbout(const std::string& err, const std::string& file) {
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(file) != std::string::npos && line.rfind("skipped ", 0) == 0) return line;
  }
  return "";
}

TEST(CliBadInput, EachBadFileIsReportedWithItsReasonAndSkipped) {
  TempDir dir;
  std::string kb = dir / "kb";
  WriteFile(kb + "/good.md", "# Good\n\nThis article is fine and mentions the word pelican.\n");
  WriteFile(kb + "/empty.md", "");
  WriteFile(kb + "/binary.txt", std::string("title\n\0\1\2\3binary", 16));
  WriteFile(kb + "/latin1.md", "# Caf\xE9\n\nInvalid UTF-8 \xFF\xFE here.\n");
  WriteFile(kb + "/notes.docx", "PK\3\4 not really a docx");
  WriteFile(kb + "/fake.pdf", "this is plain text pretending to be a PDF");
  std::string real_pdf = ReadAll(kKb + "/shipping-and-hardware/reader-q2-quick-start-guide.pdf");
  ASSERT_GT(real_pdf.size(), 1000u);
  WriteFile(kb + "/truncated.pdf", real_pdf.substr(0, 400));
  WriteFile(kb + "/blank.pdf", BlankPdf());
  WriteFile(kb + "/huge.md", "# Huge\n\n" + std::string(3u << 20, 'a'));
  WriteFile(kb + "/only-boilerplate.html",
            "<html><head><title>x</title><script>var a=1;</script></head><body><nav>Home | Help</nav></body></html>");
  WriteFile(kb + "/corpus.jsonl",
            "{\"_id\": \"d1\", \"title\": \"One\", \"text\": \"first good line about otters\"}\n"
            "this is not json\n"
            "[1, 2, 3]\n"
            "{\"title\": \"no id\", \"text\": \"x\"}\n"
            "{\"_id\": \"d5\", \"title\": \"no text\"}\n"
            "{\"_id\": \"d6\", \"text\": \"bad \xFF utf8\"}\n"
            "{\"_id\": \"d7\", \"text\": \"second good line about beavers\"}\n");
  std::filesystem::create_symlink(kb + "/does-not-exist.md", kb + "/dangling.md");

  RunResult r = Lathe(dir, {"ingest", kb, "--max-file-mb", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["added"], 3) << r.err;  // good.md, d1, d7

  struct Expect {
    const char* file;
    const char* reason;
  } expected[] = {
      {"empty.md", "empty file"},
      {"binary.txt", "binary file"},
      {"latin1.md", "invalid UTF-8"},
      {"notes.docx", "unsupported file type '.docx'"},
      {"fake.pdf", "not a PDF"},
      {"truncated.pdf", "PDF"},
      {"blank.pdf", "no extractable text"},
      {"huge.md", "over the limit"},
      {"only-boilerplate.html", "no text content"},
      {"corpus.jsonl:2", "not valid JSON"},
      {"corpus.jsonl:3", "not a JSON object"},
      {"corpus.jsonl:4", "missing \"_id\""},
      {"corpus.jsonl:5", "missing \"text\""},
      {"corpus.jsonl:6", "invalid UTF-8"},
      {"dangling.md", "broken symbolic link"},
  };
  for (const Expect& e : expected) {
    std::string line = LineAbout(r.err, e.file);
    EXPECT_NE(line, "") << "no message for " << e.file << " in:\n" << r.err;
    EXPECT_NE(line.find(e.reason), std::string::npos) << e.file << ": " << line;
  }
  EXPECT_EQ(report["failed"].get<size_t>(), std::size(expected)) << r.err;
  // Nothing from the bad files reached the catalog, and the good ones are searchable.
  RunResult docs = Lathe(dir, {"documents", "--json"});
  ASSERT_EQ(docs.exit_code, 0);
  EXPECT_EQ(json::parse(docs.out).size(), 3u);
  RunResult s = Lathe(dir, {"search", "pelican", "--json", "--retriever", "bm25"});
  ASSERT_EQ(s.exit_code, 0);
  EXPECT_EQ(json::parse(s.out)["hits"][0]["doc_id"], "good.md");
}

TEST(CliBadInput, DuplicateIdsAreReportedAndTheLaterWins) {
  TempDir dir;
  WriteFile(dir / "corpus.jsonl",
            "{\"_id\": \"a\", \"text\": \"the first version mentions walruses\"}\n"
            "{\"_id\": \"b\", \"text\": \"another document about seals\"}\n"
            "{\"_id\": \"a\", \"text\": \"the second version mentions narwhals\"}\n");
  RunResult r = Lathe(dir, {"ingest", dir / "corpus.jsonl", "--json", "--embedder", "hash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("duplicate document id 'a'"), std::string::npos) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["added"], 2);
  EXPECT_EQ(report["failed"], 1);
  RunResult s = Lathe(dir, {"search", "narwhals", "--json", "--retriever", "bm25", "--embedder", "hash"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(json::parse(s.out)["hits"][0]["doc_id"], "a");
  s = Lathe(dir, {"search", "walruses", "--json", "--retriever", "bm25", "--embedder", "hash"});
  EXPECT_TRUE(json::parse(s.out)["hits"].empty());
}

TEST(CliBadInput, LargeJsonlReportsTheRightLineNumbers) {
  // Over 1 MiB, so the file is parsed in several pieces in parallel.
  TempDir dir;
  std::string corpus;
  const int kLines = 20000;
  for (int i = 1; i <= kLines; ++i) {
    if (i == 15000) {
      corpus += "{broken json on line 15000\n";
      continue;
    }
    corpus += "{\"_id\": \"d" + std::to_string(i) + "\", \"text\": \"document number " + std::to_string(i) +
              " talks about shipping, refunds and card readers in some detail\"}\n";
  }
  ASSERT_GT(corpus.size(), 2u << 20);
  WriteFile(dir / "corpus.jsonl", corpus);
  RunResult r = Lathe(dir, {"ingest", dir / "corpus.jsonl", "--json", "--embedder", "hash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("corpus.jsonl:15000: not valid JSON"), std::string::npos) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["added"], kLines - 1);
  EXPECT_EQ(report["failed"], 1);
  // Order is kept: the last document is d20000 and it is searchable.
  RunResult s = Lathe(dir, {"search", "number 20000", "--json", "--retriever", "bm25", "--embedder", "hash"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(json::parse(s.out)["hits"][0]["doc_id"], "d20000");
}

TEST(CliBadInput, NothingIngestableExitsNonZero) {
  TempDir dir;
  WriteFile(dir / "kb/empty.md", "");
  WriteFile(dir / "kb/x.bin", "\0\0\0");
  RunResult r = Lathe(dir, {"ingest", dir / "kb"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing could be ingested"), std::string::npos) << r.err;
  RunResult missing = Lathe(dir, {"ingest", dir / "no-such-folder"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no-such-folder: no such file or directory"), std::string::npos) << missing.err;
}

TEST(CliBadInput, BadCommandLineIsRejected) {
  TempDir dir;
  RunResult r = Lathe(dir, {"ingest"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("paths"), std::string::npos) << r.err;
  r = Lathe(dir, {"frobnicate"});
  EXPECT_NE(r.exit_code, 0);
  r = Lathe(dir, {"eval", "--beir", dir / "nowhere"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lathe::test
