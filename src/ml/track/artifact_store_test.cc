// ArtifactStore: content-addressed layout, idempotent writes, and every read
// verified against the name (a flipped byte, a truncation, a missing file
// and a bad id each give their own clear error).
#include "ml/track/artifact_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/file_util.h"
#include "test_util.h"

namespace lathe::ml {
namespace {

using test::TempDir;

TEST(ArtifactStore, StoresBytesUnderTheirHash) {
  TempDir dir;
  ArtifactStore store = ArtifactStore::InDataDir(dir.path());
  auto sha = store.Put("model bytes");
  ASSERT_TRUE(sha.ok()) << sha.status().ToString();
  EXPECT_EQ(*sha, Sha256Hex("model bytes"));
  EXPECT_EQ(store.PathOf(*sha), dir.path() + "/artifacts/" + sha->substr(0, 2) + "/" + sha->substr(2));
  EXPECT_EQ(test::ReadAll(store.PathOf(*sha)), "model bytes");
  auto again = store.Put("model bytes");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *sha);
  auto read = store.Read(*sha);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "model bytes");
  // An empty artifact is an artifact too.
  auto empty = store.Put("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*store.Read(*empty), "");
}

TEST(ArtifactStore, SurvivesARestart) {
  TempDir dir;
  std::string sha;
  {
    ArtifactStore store = ArtifactStore::InDataDir(dir.path());
    sha = *store.Put(std::string(100000, 'x'));
  }
  ArtifactStore reopened = ArtifactStore::InDataDir(dir.path());
  auto read = reopened.Read(sha);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 100000u);
}

TEST(ArtifactStore, EveryReadIsVerified) {
  TempDir dir;
  ArtifactStore store = ArtifactStore::InDataDir(dir.path());
  const std::string sha = *store.Put("{\"trees\": [1, 2, 3]}");
  const std::string path = store.PathOf(sha);
  std::string bytes = test::ReadAll(path);
  bytes[5] ^= 0x01;
  test::WriteFile(path, bytes);
  auto read = store.Read(sha);
  ASSERT_EQ(read.status().code(), StatusCode::kCorruption) << read.status().ToString();
  EXPECT_NE(read.status().message().find(sha), std::string::npos);
  EXPECT_NE(read.status().message().find(path), std::string::npos);
  EXPECT_EQ(store.Verify(sha).code(), StatusCode::kCorruption);
  // Truncated.
  test::WriteFile(path, "{\"tr");
  EXPECT_EQ(store.Read(sha).status().code(), StatusCode::kCorruption);
  // Put repairs a damaged copy.
  ASSERT_TRUE(store.Put("{\"trees\": [1, 2, 3]}").ok());
  EXPECT_TRUE(store.Read(sha).ok());
  // Missing.
  std::filesystem::remove(path);
  auto missing = store.Read(sha);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
}

TEST(ArtifactStore, RefusesIdsThatAreNotHashes) {
  TempDir dir;
  ArtifactStore store = ArtifactStore::InDataDir(dir.path());
  for (const std::string& bad : std::vector<std::string>{"", "abc", "../../etc/passwd", std::string(64, 'g'), std::string(64, 'A')}) {
    auto r = store.Read(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
}

}  // namespace
}  // namespace lathe::ml
