// Tests for the snapshot file framing: round trip and clean errors on damage.
#include "common/snapshot_file.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/binary_io.h"
#include "common/file_util.h"

namespace lathe {
namespace {

namespace fs = std::filesystem;

class SnapshotFileTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    dir_ = temp_.path();
    path_ = dir_ + "/index/collection-1.snap";
  }
  // Writes a valid snapshot and returns its bytes.
  std::string WriteValid() {
    SnapshotHeader header;
    header.version = 3;
    header.generation = 17;
    header.settings = "bm25=0.9,0.4;embedder=hash-v1";
    EXPECT_TRUE(WriteSnapshot(path_, header, payload_).ok());
    return ReadFile(path_).value();
  }

  void Overwrite(const std::string& bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  Status Read() {
    SnapshotHeader header;
    std::string payload;
    return ReadSnapshot(path_, &header, &payload);
  }

  test::TempDir temp_;  // removed with the fixture
  std::string dir_;
  std::string path_;
  static constexpr char kPayload[] = "payload\0with\xff binary bytes";
  const std::string payload_ = std::string(kPayload, sizeof kPayload - 1);  // keeps the NUL, drops the terminator
};

TEST_F(SnapshotFileTest, RoundTrip) {
  WriteValid();  // also creates the missing index/ directory
  SnapshotHeader header;
  std::string payload;
  Status st = ReadSnapshot(path_, &header, &payload);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(header.version, 3u);
  EXPECT_EQ(header.generation, 17u);
  EXPECT_EQ(header.settings, "bm25=0.9,0.4;embedder=hash-v1");
  EXPECT_EQ(payload, payload_);
}

TEST_F(SnapshotFileTest, PayloadInPiecesWritesTheSameFile) {
  std::string whole = WriteValid();
  // A writer that references an array gives its bytes as pieces.
  const float floats[] = {1.5f, -2.0f, 0.25f};
  BinaryWriter w;
  w.PutRaw(std::string_view(payload_).substr(0, 4));
  w.PutArrayRef(floats, 3);
  w.PutRaw(std::string_view(payload_).substr(4));
  BinaryWriter copied;
  copied.PutRaw(std::string_view(payload_).substr(0, 4));
  copied.PutArray(std::vector<float>(floats, floats + 3));
  copied.PutRaw(std::string_view(payload_).substr(4));
  ASSERT_EQ(w.pieces().size(), 3u);
  EXPECT_EQ(w.size(), copied.buffer().size());
  SnapshotHeader header;
  header.version = 3;
  header.generation = 17;
  header.settings = "bm25=0.9,0.4;embedder=hash-v1";
  ASSERT_TRUE(WriteSnapshot(path_, header, w.pieces()).ok());
  std::string from_pieces = ReadFile(path_).value();
  ASSERT_TRUE(WriteSnapshot(path_, header, copied.buffer()).ok());
  EXPECT_EQ(from_pieces, ReadFile(path_).value());
  SnapshotHeader got;
  std::string payload;
  ASSERT_TRUE(ReadSnapshot(path_, &got, &payload).ok());
  EXPECT_EQ(payload, copied.buffer());
  EXPECT_NE(whole, from_pieces);
}

TEST_F(SnapshotFileTest, EmptyPayloadRoundTrips) {
  SnapshotHeader header;
  header.version = 1;
  ASSERT_TRUE(WriteSnapshot(path_, header, "").ok());
  SnapshotHeader got;
  std::string payload = "stale";
  ASSERT_TRUE(ReadSnapshot(path_, &got, &payload).ok());
  EXPECT_EQ(payload, "");
  EXPECT_EQ(got.settings, "");
}

TEST_F(SnapshotFileTest, FlippedByteGivesChecksumCorruption) {
  std::string bytes = WriteValid();
  std::string damaged = bytes;
  damaged[bytes.size() - 10] ^= 0x01;  // inside the payload
  Overwrite(damaged);
  Status st = Read();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.message();
}

TEST_F(SnapshotFileTest, EveryFlippedByteIsDetected) {
  std::string bytes = WriteValid();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= 0x40;
    Overwrite(damaged);
    ASSERT_EQ(Read().code(), StatusCode::kCorruption) << "byte " << i;
  }
}

TEST_F(SnapshotFileTest, TruncatedFileGivesCorruption) {
  std::string bytes = WriteValid();
  for (size_t len : {size_t{0}, size_t{5}, size_t{8}, size_t{12}, size_t{30}, bytes.size() / 2, bytes.size() - 4,
                     bytes.size() - 1}) {
    Overwrite(bytes.substr(0, len));
    Status st = Read();
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << "truncated to " << len << ": " << st.ToString();
  }
}

TEST_F(SnapshotFileTest, BadMagicGivesCorruption) {
  std::string bytes = WriteValid();
  bytes.replace(0, 8, "NOTASNAP");
  Overwrite(bytes);
  Status st = Read();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("magic"), std::string::npos) << st.message();
}

TEST_F(SnapshotFileTest, MissingFileGivesNotFound) {
  EXPECT_EQ(Read().code(), StatusCode::kNotFound);
}

TEST_F(SnapshotFileTest, RewriteReplacesPreviousSnapshot) {
  WriteValid();
  SnapshotHeader header;
  header.version = 4;
  header.generation = 18;
  ASSERT_TRUE(WriteSnapshot(path_, header, "new").ok());
  SnapshotHeader got;
  std::string payload;
  ASSERT_TRUE(ReadSnapshot(path_, &got, &payload).ok());
  EXPECT_EQ(got.generation, 18u);
  EXPECT_EQ(payload, "new");
}

}  // namespace
}  // namespace lathe
