// ArtifactStore: content-addressed files under one folder (by default
// <data-dir>/artifacts): the bytes whose SHA-256 is abcdef... live in
// ab/cdef..., written atomically and durably, and checked against their name
// on every read. Many processes may share a folder (writes are idempotent
// renames). Stateless apart from the root path; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lathe::ml {

class ArtifactStore {
 public:
  explicit ArtifactStore(std::string root) : root_(std::move(root)) {}
  // <data_dir>/artifacts.
  static ArtifactStore InDataDir(const std::string& data_dir) { return ArtifactStore(data_dir + "/artifacts"); }

  // Stores bytes (a no-op when an intact copy is already there; a damaged
  // copy is replaced) and returns their lower-case hex SHA-256. IOError when
  // the folder cannot be written.
  Result<std::string> Put(std::string_view bytes);
  // The verified bytes of sha256. InvalidArgument when sha256 is not 64 hex
  // digits; NotFound when there is no such file; Corruption (naming the
  // artifact and its path) when the file's content does not hash to sha256.
  Result<std::string> Read(const std::string& sha256) const;
  // Read without returning the bytes.
  Status Verify(const std::string& sha256) const;

  // Where sha256's file is (whether or not it exists).
  std::string PathOf(const std::string& sha256) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// True when s is 64 lower-case hex digits.
bool IsSha256Hex(std::string_view s);

}  // namespace lathe::ml
