#include "app/ui_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace lathe::app {
namespace {

TEST(UiAssets, ContentTypesByExtension) {
  EXPECT_EQ(UiContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(UiContentType("js/pages/chat.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(UiContentType("app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(UiContentType("logo.svg"), "image/svg+xml");
  EXPECT_EQ(UiContentType("secrets.yaml"), "");
  EXPECT_EQ(UiContentType("js"), "");
  EXPECT_EQ(UiContentType(".js"), "");
}

// The build embeds ui/: the page and its entry module are there.
TEST(UiAssets, EmbedsTheUiFolder) {
  EXPECT_GT(UiAssets::EmbeddedCount(), 2u);
  UiAssets assets;
  auto index = assets.Get("index.html");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_NE(index->body.find("<html"), std::string::npos);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  auto app = assets.Get("js/app.js");
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_FALSE(app->body.empty());
  EXPECT_EQ(app->etag, assets.Get("js/app.js")->etag);
  EXPECT_NE(app->etag, index->etag);
  EXPECT_EQ(assets.Get("js/no-such-file.js").status().code(), StatusCode::kNotFound);
}

class UiDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lathe-ui-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_ / "ui" / "js");
    Write("ui/index.html", "<html>dev</html>");
    Write("ui/js/app.js", "export {};");
    Write("ui/.env.js", "hidden");
    Write("secret.js", "outside");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::filesystem::path dir_;
};

// --ui-dir reads the folder on every request and never leaves it.
TEST_F(UiDir, ServesTheFolderAndNothingOutsideIt) {
  UiAssets assets((dir_ / "ui").string());
  auto index = assets.Get("index.html");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->body, "<html>dev</html>");
  Write("ui/index.html", "<html>changed</html>");
  EXPECT_EQ(assets.Get("index.html")->body, "<html>changed</html>");
  EXPECT_TRUE(assets.Get("js/app.js").ok());
  for (const char* bad : {"../secret.js", "js/../../secret.js", "/etc/passwd.js", ".env.js", "js//app.js", "",
                          "js/", "./index.html", "js\\app.js", "missing.html"}) {
    auto r = assets.Get(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << bad;
  }
}

}  // namespace
}  // namespace lathe::app
