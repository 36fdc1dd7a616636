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

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      std::string error;
      url_ = FreshPgDatabase("lathe_test", &error);
      ASSERT_FALSE(url_.empty()) << error;
    } else {
      url_ = "sqlite:" + dir_ / "test.db";
    }
    auto db = storage::OpenDb(url_, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  TempDir dir_;
  std::string url_;
  std::unique_ptr<storage::Db> db_;
};

}  // namespace lathe::test
