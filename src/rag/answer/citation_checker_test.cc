// CitationStreamFilter: markers naming no given passage disappear from a
// stream however the text is cut into pieces; everything else passes through.
#include "rag/answer/citation_checker.h"

#include <gtest/gtest.h>

namespace lathe::rag {
namespace {

// Feeds text cut every `step` bytes; returns what was shown.
std::string Stream(const std::string& text, size_t step, CitationStreamFilter* f) {
  std::string out;
  for (size_t i = 0; i < text.size(); i += step) out += f->Feed(std::string_view(text).substr(i, step));
  return out + f->Flush();
}

TEST(CitationStreamFilter, DropsMarkersOfPassagesNotGivenAtAnyCut) {
  const std::string text = "Reset it from the sign-in page [1]. See also [9] and [12]; arrays like a[i] stay, [2] too [";
  const std::string expected = "Reset it from the sign-in page [1]. See also  and ; arrays like a[i] stay, [2] too [";
  for (size_t step : {1u, 2u, 3u, 5u, 7u, 100u}) {
    CitationStreamFilter f({1, 2});
    EXPECT_EQ(Stream(text, step, &f), expected) << "step " << step;
    EXPECT_EQ(f.removed(), 2) << "step " << step;
  }
}

TEST(CitationStreamFilter, NonMarkersPassThroughUnchanged) {
  const std::string text = "[] [x] [[1]] [123456] 3 [ 1] done";
  CitationStreamFilter f({1});
  EXPECT_EQ(Stream(text, 1, &f), "[] [x] [[1]] [123456] 3 [ 1] done");
  EXPECT_EQ(f.removed(), 0);
}

// The same cleaning as the whole-text checker for out-of-range markers.
TEST(CitationStreamFilter, AgreesWithCheckCitationsOnOutOfRangeMarkers) {
  std::vector<Passage> passages = {{1, 11, "a.md", "A", "Refunds take five business days.", 1}};
  const std::string text = "Refunds take five business days [1]. Or ask support [3].";
  CitationStreamFilter f({1});
  std::string streamed = Stream(text, 4, &f);
  Answer checked = CheckCitations(text, passages);
  EXPECT_EQ(f.removed(), checked.removed_citations);
  EXPECT_EQ(streamed.find("[3]"), std::string::npos);
  EXPECT_EQ(checked.text.find("[3]"), std::string::npos);
}

}  // namespace
}  // namespace lathe::rag
