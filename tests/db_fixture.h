// EngineTest: a gtest fixture parameterised by engine ("sqlite" or
// "postgres") that opens a fresh, migrated database of that engine for each
// test: a file in a TempDir, or a new database on the binary's shared
// PostgreSQL server (pg_harness.h). Use with
// INSTANTIATE_TEST_SUITE_P(Engines, MyTest, ::testing::Values("sqlite", "postgres")).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pg_harness.h"
#include "storage/db.h"
#include "test_util.h"

namespace lathe::test {

// A URL for a fresh database of engine: a new PostgreSQL database on the
// shared server ("" with *error set if it cannot be made), or a SQLite file in
// dir ("" for the data directory's default file when sqlite_file is empty).
inline std::string FreshDbUrl(const std::string& engine, const TempDir& dir, const std::string& sqlite_file,
                              std::string* error) {
  if (engine == "postgres") return FreshPgDatabase("lathe_test", error);
  return sqlite_file.empty() ? "" : "sqlite:" + dir / sqlite_file;
}

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    url_ = FreshDbUrl(GetParam(), dir_, "test.db", &error);
    ASSERT_FALSE(url_.empty()) << error;
    auto db = storage::OpenDb(url_, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  TempDir dir_;
  std::string url_;
  std::unique_ptr<storage::Db> db_;
};

}  // namespace lathe::test
