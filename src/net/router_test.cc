#include "net/router.h"

#include <gtest/gtest.h>

namespace lathe::net {
namespace {

using R = Router<int>;

TEST(Router, MatchesSegmentsAndReportsMethods) {
  R r;
  r.Add("GET", "/v1/collections/{c}/documents", 1);
  r.Add("POST", "/v1/collections/{c}/documents", 2);
  auto m = r.Find("GET", "/v1/collections/support%2Fx/documents?limit=3");
  ASSERT_EQ(m.outcome, R::Outcome::kMatched);
  EXPECT_EQ(*m.handler, 1);
  EXPECT_EQ(m.params["c"], "support/x");
  EXPECT_EQ(r.Find("DELETE", "/v1/collections/a/documents").outcome, R::Outcome::kMethodNotAllowed);
  EXPECT_EQ(r.Find("DELETE", "/v1/collections/a/documents").allowed, "GET, POST");
  EXPECT_EQ(r.Find("GET", "/v1/collections/a").outcome, R::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/v1/collections/a/documents/b").outcome, R::Outcome::kNotFound);
}

// A last {name*} segment takes the rest of the path (at least one segment).
TEST(Router, RestSegmentTakesTheRemainingPath) {
  R r;
  r.Add("GET", "/", 0);
  r.Add("GET", "/ui/{path*}", 1);
  auto m = r.Find("GET", "/ui/js/pages/chat.js?v=2");
  ASSERT_EQ(m.outcome, R::Outcome::kMatched);
  EXPECT_EQ(*m.handler, 1);
  EXPECT_EQ(m.params["path"], "js/pages/chat.js");
  EXPECT_EQ(r.Find("GET", "/ui/app.css").params["path"], "app.css");
  EXPECT_EQ(r.Find("GET", "/ui/a%20b/c.js").params["path"], "a b/c.js");
  // Decoding happens per segment, so an encoded ".." stays visible to the
  // handler as its own segment.
  EXPECT_EQ(r.Find("GET", "/ui/%2e%2e/x.js").params["path"], "../x.js");
  EXPECT_EQ(r.Find("GET", "/ui").outcome, R::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/ui/").outcome, R::Outcome::kNotFound);
  EXPECT_EQ(*r.Find("GET", "/").handler, 0);
}

}  // namespace
}  // namespace lathe::net
