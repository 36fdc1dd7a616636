// Tests for file_util: atomic writes, capped reads, checksums and hashes.
#include "common/file_util.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lathe {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

TEST(FileUtil, AtomicWriteThenReadReturnsSameBytes) {
  TempDir dir;
  const std::string path = dir.path() + "/data.bin";
  const std::string data("hello\0world\xff\n", 13);
  ASSERT_TRUE(AtomicWriteFile(path, data).ok());
  Result<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read.value(), data);
}

TEST(FileUtil, AtomicWriteReplacesExistingFileAndLeavesNoTempFile) {
  TempDir dir;
  const std::string path = dir.path() + "/data.txt";
  ASSERT_TRUE(AtomicWriteFile(path, "first version, longer").ok());
  ASSERT_TRUE(AtomicWriteFile(path, "second").ok());
  EXPECT_EQ(ReadFile(path).value(), "second");
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    ++entries;
    EXPECT_EQ(entry.path().filename(), "data.txt");
  }
  EXPECT_EQ(entries, 1u);
}

TEST(FileUtil, ReadsEmptyFile) {
  TempDir dir;
  const std::string path = dir.path() + "/empty";
  ASSERT_TRUE(AtomicWriteFile(path, "").ok());
  Result<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read.value().empty());
}

TEST(FileUtil, ReadFileEnforcesMaxBytes) {
  TempDir dir;
  const std::string path = dir.path() + "/ten";
  ASSERT_TRUE(AtomicWriteFile(path, "0123456789").ok());
  EXPECT_TRUE(ReadFile(path, 10).ok());  // exactly at the limit is allowed
  Result<std::string> over = ReadFile(path, 9);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find(path), std::string::npos) << over.status().message();
}

TEST(FileUtil, MissingFileErrorNamesThePath) {
  TempDir dir;
  const std::string path = dir.path() + "/no-such-file.txt";
  Result<std::string> read = ReadFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kIOError);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status().message();
}

TEST(FileUtil, ReadingADirectoryFails) {
  TempDir dir;
  Result<std::string> read = ReadFile(dir.path());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kIOError);
}

TEST(FileUtil, AtomicWriteIntoMissingDirectoryFails) {
  TempDir dir;
  Status st = AtomicWriteFile(dir.path() + "/missing/sub/file", "x");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
}

TEST(FileUtil, EnsureDirectoryCreatesParentsAndIsIdempotent) {
  TempDir dir;
  const std::string nested = dir.path() + "/a/b/c";
  ASSERT_TRUE(EnsureDirectory(nested).ok());
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_TRUE(EnsureDirectory(nested).ok());
}

TEST(FileUtil, Crc32KnownValues) {
  // The standard CRC-32 check value.
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_NE(Crc32("123456789"), Crc32("123456788"));
}

TEST(FileUtil, Sha256HexKnownValues) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace lathe
