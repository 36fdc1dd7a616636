// The Db interface against both engines: SQLite in a temporary folder and a
// real PostgreSQL server started by tests/pg_harness.h.
#include "storage/db.h"

#include <gtest/gtest.h>

#include <map>

#include "db_fixture.h"
#include "storage/migrations.h"
#include "test_util.h"

namespace lathe::storage {
namespace {

using test::TempDir;

using DbTest = test::EngineTest;

TEST_P(DbTest, MigratesOnceAndReopens) {
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM db_migrations"), static_cast<int64_t>(Migrations().size()));
  db_.reset();
  auto again = OpenDb(url_, dir_.path());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->QueryInt("SELECT COUNT(*) FROM db_migrations"), static_cast<int64_t>(Migrations().size()));
}

TEST_P(DbTest, RefusesASchemaFromANewerLathe) {
  ASSERT_TRUE(db_->Execute("INSERT INTO db_migrations (version, name, applied_at) VALUES ($1, 'future', 0)",
                           {int64_t{999}}).ok());
  db_.reset();
  auto again = OpenDb(url_, dir_.path());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("999"), std::string::npos);
}

TEST_P(DbTest, ParametersRoundTripIncludingNull) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT, d DOUBLE PRECISION, s TEXT)").ok());
  auto n = db_->Execute("INSERT INTO t (i, d, s) VALUES ($1, $2, $3), ($1, $2, NULL)",
                        {int64_t{-42}, 2.5, std::string("tab\there")});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  std::vector<std::string> seen;
  ASSERT_TRUE(db_->Query("SELECT i, d, s FROM t WHERE i = $1 ORDER BY s", {int64_t{-42}}, [&](const DbRow& r) {
    seen.push_back(std::to_string(r.Int(0)) + "|" + std::to_string(r.Double(1)) + "|" +
                   (r.IsNull(2) ? "NULL" : std::string(r.Text(2))));
    return Status::OK();
  }).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE((seen[0] == "-42|2.500000|tab\there" && seen[1] == "-42|2.500000|NULL") ||
              (seen[1] == "-42|2.500000|tab\there" && seen[0] == "-42|2.500000|NULL"));
}

TEST_P(DbTest, BulkInsertWritesEveryRowAndEscapesText) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT PRIMARY KEY, d DOUBLE PRECISION, s TEXT)").ok());
  auto w = db_->BulkInsert("t", {"i", "d", "s"});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (int i = 0; i < 5000; ++i) {
    (*w)->Int(i);
    (*w)->Double(i * 0.25);
    if (i % 7 == 0) {
      (*w)->Null();
    } else {
      (*w)->Text("a\\b\tc\nd " + std::to_string(i));
    }
    ASSERT_TRUE((*w)->EndRow().ok());
  }
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 5000);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t WHERE s IS NULL"), 715);
  std::string s;
  ASSERT_TRUE(db_->Query("SELECT s FROM t WHERE i = 8", {}, [&](const DbRow& r) {
    s = r.Text(0);
    return Status::OK();
  }).ok());
  EXPECT_EQ(s, "a\\b\tc\nd 8");
  double sum = 0;
  ASSERT_TRUE(db_->Query("SELECT SUM(d) FROM t", {}, [&](const DbRow& r) {
    sum = r.Double(0);
    return Status::OK();
  }).ok());
  EXPECT_DOUBLE_EQ(sum, 0.25 * 4999 * 5000 / 2);
}

TEST_P(DbTest, LargeResultsStreamInOrderInsideAndOutsideTransactions) {
  // More rows than one PostgreSQL cursor fetch (20,000).
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT)").ok());
  auto w = db_->BulkInsert("t", {"i"});
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 45000; ++i) {
    (*w)->Int(i);
    ASSERT_TRUE((*w)->EndRow().ok());
  }
  ASSERT_TRUE((*w)->Finish().ok());
  auto scan = [&](int stop_after) {
    int64_t n = 0, in_order = 0;
    Status st = db_->Query("SELECT i FROM t WHERE i >= $1 ORDER BY i", {int64_t{0}}, [&](const DbRow& r) {
      in_order += r.Int(0) == n;
      if (++n == stop_after) return Status(StatusCode::kCorruption, "stop");
      return Status::OK();
    });
    EXPECT_EQ(in_order, n);
    return std::make_pair(st, n);
  };
  auto [st, n] = scan(-1);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(n, 45000);
  auto [stopped, m] = scan(25000);
  EXPECT_EQ(stopped.code(), StatusCode::kCorruption);
  EXPECT_EQ(m, 25000);
  {
    DbTransaction tx(db_.get());
    ASSERT_TRUE(db_->Execute("INSERT INTO t (i) VALUES (45000)").ok());
    auto [in_tx, k] = scan(-1);
    EXPECT_TRUE(in_tx.ok());
    EXPECT_EQ(k, 45001);  // sees its own transaction's row
    auto [again, k2] = scan(-1);  // a second query in the same transaction
    EXPECT_TRUE(again.ok());
    EXPECT_EQ(k2, 45001);
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 45001);
  // A bad SELECT reports the error and leaves the connection usable.
  EXPECT_FALSE(db_->Query("SELECT nope FROM t", {}, [](const DbRow&) { return Status::OK(); }).ok());
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 45001);
}

TEST_P(DbTest, AbandonedBulkWriteLeavesNothing) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT)").ok());
  {
    auto w = db_->BulkInsert("t", {"i"});
    ASSERT_TRUE(w.ok());
    (*w)->Int(1);
    ASSERT_TRUE((*w)->EndRow().ok());
  }
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 0);
  // The connection is usable afterwards.
  EXPECT_TRUE(db_->Execute("INSERT INTO t (i) VALUES (1)").ok());
}

TEST_P(DbTest, BulkWritesInsideATransactionCommitOrRollBackTogether) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE a (i BIGINT); CREATE TABLE b (i BIGINT)").ok());
  auto write = [&](const char* table, int64_t v) {
    auto w = db_->BulkInsert(table, {"i"});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    (*w)->Int(v);
    ASSERT_TRUE((*w)->EndRow().ok());
    ASSERT_TRUE((*w)->Finish().ok());
  };
  {
    DbTransaction tx(db_.get());
    ASSERT_TRUE(tx.status().ok());
    write("a", 1);
    write("b", 2);
  }  // rolled back
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM a") + *db_->QueryInt("SELECT COUNT(*) FROM b"), 0);
  {
    DbTransaction tx(db_.get());
    write("a", 1);
    write("b", 2);
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM a") + *db_->QueryInt("SELECT COUNT(*) FROM b"), 2);
}

TEST_P(DbTest, DuplicateKeyIsAlreadyExists) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT PRIMARY KEY)").ok());
  ASSERT_TRUE(db_->Execute("INSERT INTO t (i) VALUES (1)").ok());
  auto dup = db_->Execute("INSERT INTO t (i) VALUES (1)");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
}

TEST_P(DbTest, TransactionRollsBack) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT)").ok());
  {
    DbTransaction tx(db_.get());
    ASSERT_TRUE(tx.status().ok());
    ASSERT_TRUE(db_->Execute("INSERT INTO t (i) VALUES (1)").ok());
  }
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 0);
}

TEST_P(DbTest, ColumnsFoldTypesAndMissingTableIsNotFound) {
  auto cols = db_->Columns("transactions");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  std::map<std::string, std::string> types;
  for (const DbColumn& c : *cols) types[c.name] = c.type;
  EXPECT_EQ(types["transaction_id"], "int");
  EXPECT_EQ(types["amount"], "float");
  EXPECT_EQ(types["currency"], "string");
  EXPECT_EQ(cols->size(), 13u);
  auto missing = db_->Columns("no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_P(DbTest, QueryErrorsAndCallbackErrorsAreReturned) {
  auto bad = db_->Execute("SELEKT 1");
  EXPECT_FALSE(bad.ok());
  ASSERT_TRUE(db_->Exec("CREATE TABLE t (i BIGINT)").ok());
  ASSERT_TRUE(db_->Execute("INSERT INTO t (i) VALUES (1), (2), (3)").ok());
  int rows = 0;
  Status st = db_->Query("SELECT i FROM t", {}, [&](const DbRow&) {
    ++rows;
    return InvalidArgument("stop");
  });
  EXPECT_EQ(st.message(), "stop");
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 3);  // still usable
}

INSTANTIATE_TEST_SUITE_P(Engines, DbTest, ::testing::Values("sqlite", "postgres"));

TEST(OpenDb, RejectsBadUrlsWithTheReason) {
  TempDir dir;
  auto unknown = OpenDb("mysql://localhost/x", dir.path());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown scheme 'mysql'"), std::string::npos);

  auto no_dir = OpenDb("sqlite:" + dir / "missing/x.db", dir.path());
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.status().message().find("does not exist"), std::string::npos);

  auto bad_pg = OpenDb("postgres://u@host:notaport/db", dir.path());
  ASSERT_FALSE(bad_pg.ok());
  EXPECT_NE(bad_pg.status().message().find("postgres://u@host:notaport/db"), std::string::npos);

  auto bad_param = OpenDb("postgres://u@127.0.0.1/db?bogus_option=1", dir.path());
  ASSERT_FALSE(bad_param.ok());
  EXPECT_EQ(bad_param.status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenDb, UnreachableServerIsUnavailableAndHidesThePassword) {
  TempDir dir;
  // Port 1 on loopback: nothing listens there.
  auto down = OpenDb("postgres://user:secret@127.0.0.1:1/db", dir.path());
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.status().message().find("secret"), std::string::npos);
  EXPECT_NE(down.status().message().find("user:***@127.0.0.1:1"), std::string::npos);
}

TEST(OpenDb, EmptyUrlIsTheDataDirectoryFile) {
  TempDir dir;
  auto db = OpenDb("", dir / "data");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir / "data/lathe.db"));
}

}  // namespace
}  // namespace lathe::storage
