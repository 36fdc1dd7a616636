// Tracker on SQLite and PostgreSQL: runs and their lifecycle, write-once
// params, metrics with steps, tags, artifacts verified by checksum (also
// after reopening the database and the artifact folder), unknown ids.
#include "ml/track/tracker.h"

#include <gtest/gtest.h>

#include "db_fixture.h"
#include "ml/track/source_version.h"

namespace lathe::ml {
namespace {

class TrackerTest : public test::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    store_ = std::make_unique<ArtifactStore>(ArtifactStore::InDataDir(dir_.path()));
    tracker_ = std::make_unique<Tracker>(db_.get(), store_.get(), [this] { return ++now_; });
  }
  int64_t now_ = 1000;
  std::unique_ptr<ArtifactStore> store_;
  std::unique_ptr<Tracker> tracker_;
};

TEST_P(TrackerTest, RunLifecycle) {
  auto run = tracker_->StartRun("fraud");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->size(), 32u);
  auto info = tracker_->GetRun(*run);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->experiment, "fraud");
  EXPECT_EQ(info->status, RunStatus::kRunning);
  EXPECT_EQ(info->source_version, SourceVersion());
  EXPECT_FALSE(info->source_version.empty());
  EXPECT_EQ(info->end_time, 0);
  ASSERT_TRUE(tracker_->SetDataWindow(*run, 100, 200, 300, 10, 5, 7).ok());
  ASSERT_TRUE(tracker_->EndRun(*run, RunStatus::kFinished).ok());
  info = tracker_->GetRun(*run);
  EXPECT_EQ(info->status, RunStatus::kFinished);
  EXPECT_GT(info->end_time, info->start_time);
  EXPECT_EQ(info->data_from, 100);
  EXPECT_EQ(info->test_from, 200);
  EXPECT_EQ(info->data_to, 300);
  EXPECT_EQ(info->train_rows, 10);
  EXPECT_EQ(info->validation_rows, 5);
  EXPECT_EQ(info->test_rows, 7);
  EXPECT_EQ(tracker_->EndRun(*run, RunStatus::kFailed, "late").code(), StatusCode::kFailedPrecondition);

  auto failed = tracker_->StartRun("fraud");
  ASSERT_TRUE(tracker_->EndRun(*failed, RunStatus::kFailed, "no fraud label").ok());
  EXPECT_EQ(tracker_->GetRun(*failed)->error, "no fraud label");
  auto other = tracker_->StartRun("baseline");
  ASSERT_TRUE(other.ok());

  auto all = tracker_->ListRuns();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(all->front().run_id, *other);  // newest first
  auto fraud = tracker_->ListRuns("fraud");
  ASSERT_EQ(fraud->size(), 2u);
  EXPECT_EQ(tracker_->ListRuns("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*tracker_->ListExperiments(), (std::vector<std::string>{"baseline", "fraud"}));
}

TEST_P(TrackerTest, ParamsAreWriteOnce) {
  auto run = *tracker_->StartRun("fraud");
  ASSERT_TRUE(tracker_->LogParam(run, "xgboost.eta", "0.1").ok());
  EXPECT_TRUE(tracker_->LogParam(run, "xgboost.eta", "0.1").ok());  // same value: a no-op
  Status st = tracker_->LogParam(run, "xgboost.eta", "0.2");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("write-once"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'0.1'"), std::string::npos) << st.message();
  EXPECT_EQ(tracker_->GetRunDetails(run)->params.at("xgboost.eta"), "0.1");
  EXPECT_TRUE(tracker_->LogParams(run, {{"seed", "1"}, {"model", "xgboost"}}).ok());
  EXPECT_EQ(tracker_->GetRunDetails(run)->params.size(), 3u);
  EXPECT_EQ(tracker_->LogParam(run, "", "x").code(), StatusCode::kInvalidArgument);
}

TEST_P(TrackerTest, MetricsTagsAndArtifacts) {
  auto run = *tracker_->StartRun("fraud");
  for (int step = 0; step < 3; ++step) ASSERT_TRUE(tracker_->LogMetric(run, "train.loss", 1.0 / (step + 1), step).ok());
  ASSERT_TRUE(tracker_->LogMetric(run, "test.auprc", 0.5, 0, 12345).ok());
  ASSERT_TRUE(tracker_->SetTag(run, "validation", "none").ok());
  ASSERT_TRUE(tracker_->SetTag(run, "validation", "passed").ok());  // tags may change
  auto model = tracker_->LogArtifact(run, "model.json", "{\"learner\": 1}", "application/json");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->size, 14);
  EXPECT_TRUE(tracker_->LogArtifact(run, "model.json", "{\"learner\": 1}", "application/json").ok());
  EXPECT_EQ(tracker_->LogArtifact(run, "model.json", "other", "application/json").status().code(),
            StatusCode::kAlreadyExists);

  auto d = tracker_->GetRunDetails(run);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->metrics.size(), 4u);
  EXPECT_EQ(d->metrics[0].key, "test.auprc");
  EXPECT_EQ(d->metrics[0].ts, 12345);
  EXPECT_EQ(d->metrics[3].step, 2);
  EXPECT_DOUBLE_EQ(d->metrics[3].value, 1.0 / 3);
  EXPECT_EQ(d->tags.at("validation"), "passed");
  ASSERT_EQ(d->artifacts.size(), 1u);
  EXPECT_EQ(d->artifacts[0].sha256, model->sha256);
  EXPECT_EQ(d->artifacts[0].media_type, "application/json");
  EXPECT_EQ(*tracker_->ReadArtifact(run, "model.json"), "{\"learner\": 1}");
  EXPECT_EQ(tracker_->ReadArtifact(run, "nope").status().code(), StatusCode::kNotFound);
}

// The list's summaries agree with what GetRunDetails says of each run:
// filters, order, limit, each key's last value and the tags.
TEST_P(TrackerTest, RunSummariesMatchTheRunsDetails) {
  std::vector<std::string> fraud;
  for (int i = 0; i < 4; ++i) {
    fraud.push_back(*tracker_->StartRun("fraud"));
    const std::string& run = fraud.back();
    // Logged out of step order, with a tie on the last step: the highest
    // step wins, and on a tie the value logged last.
    ASSERT_TRUE(tracker_->LogMetric(run, "train.loss", 0.5 + i, 2).ok());
    ASSERT_TRUE(tracker_->LogMetric(run, "train.loss", 9.0, 0).ok());
    ASSERT_TRUE(tracker_->LogMetric(run, "train.loss", 0.25 + i, 2).ok());
    ASSERT_TRUE(tracker_->LogMetric(run, "test.auprc", 0.1 * i).ok());
    ASSERT_TRUE(tracker_->SetTag(run, "promotion.decision", i % 2 ? "promote" : "keep").ok());
    if (i != 1) {
      ASSERT_TRUE(tracker_->EndRun(run, i == 3 ? RunStatus::kFailed : RunStatus::kFinished, "x").ok());
    }
  }
  std::string other = *tracker_->StartRun("baseline");  // no metrics, no tags

  auto all = tracker_->ListRunSummaries();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].info.run_id, other);
  EXPECT_TRUE((*all)[0].last_metrics.empty());
  EXPECT_TRUE((*all)[0].tags.empty());
  for (size_t i = 1; i < all->size(); ++i) {
    const RunSummary& s = (*all)[i];
    EXPECT_EQ(s.info.run_id, fraud[4 - i]);  // newest first
    auto d = tracker_->GetRunDetails(s.info.run_id);
    ASSERT_TRUE(d.ok());
    std::map<std::string, double> last;
    for (const MetricPoint& m : d->metrics) last[m.key] = m.value;
    EXPECT_EQ(s.last_metrics, last);
    EXPECT_EQ(s.tags, d->tags);
    EXPECT_EQ(s.info.status, d->info.status);
    EXPECT_EQ(s.info.error, d->info.error);
  }
  EXPECT_DOUBLE_EQ((*all)[1].last_metrics.at("train.loss"), 3.25);  // fraud[3]: step 2, logged last
  EXPECT_EQ((*all)[1].tags.at("promotion.decision"), "promote");

  auto finished = tracker_->ListRunSummaries("fraud", RunStatus::kFinished);
  ASSERT_TRUE(finished.ok());
  ASSERT_EQ(finished->size(), 2u);
  EXPECT_EQ((*finished)[0].info.run_id, fraud[2]);
  EXPECT_EQ((*finished)[1].info.run_id, fraud[0]);
  auto running = tracker_->ListRunSummaries("", RunStatus::kRunning, 1);
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].info.run_id, other);
  auto two = tracker_->ListRunSummaries("fraud", std::nullopt, 2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].info.run_id, fraud[2]);
  EXPECT_EQ(tracker_->ListRunSummaries("nope").status().code(), StatusCode::kNotFound);

  auto last = tracker_->LastMetrics({fraud[3], other, "no-such-run"});
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_EQ(last->size(), 1u);  // other has no metrics; the unknown id is absent
  EXPECT_DOUBLE_EQ(last->at(fraud[3]).at("train.loss"), 3.25);
  EXPECT_DOUBLE_EQ(last->at(fraud[3]).at("test.auprc"), 0.1 * 3);
  EXPECT_TRUE(tracker_->LastMetrics({})->empty());
}

// More runs than one query's id list holds (500): every run still gets its
// own summary.
TEST_P(TrackerTest, RunSummariesSpanSeveralIdLists) {
  std::vector<std::string> runs;
  for (int i = 0; i < 503; ++i) {
    runs.push_back(*tracker_->StartRun("fraud"));
    ASSERT_TRUE(tracker_->LogMetric(runs.back(), "test.auprc", i).ok());
  }
  auto all = tracker_->ListRunSummaries("fraud");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), runs.size());
  for (size_t i = 0; i < all->size(); ++i) {
    const size_t logged = runs.size() - 1 - i;
    ASSERT_EQ((*all)[i].info.run_id, runs[logged]);
    ASSERT_DOUBLE_EQ((*all)[i].last_metrics.at("test.auprc"), static_cast<double>(logged));
  }
}

TEST_P(TrackerTest, ArtifactsSurviveARestartAndAreVerified) {
  std::string run = *tracker_->StartRun("fraud");
  const std::string bytes(5000, 'm');
  auto info = tracker_->LogArtifact(run, "model.json", bytes, "application/json");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(tracker_->EndRun(run, RunStatus::kFinished).ok());
  tracker_.reset();
  store_.reset();
  db_.reset();

  auto db = storage::OpenDb(url_, dir_.path());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ArtifactStore store = ArtifactStore::InDataDir(dir_.path());
  Tracker tracker(db->get(), &store);
  EXPECT_EQ(tracker.GetRun(run)->status, RunStatus::kFinished);
  auto read = tracker.ReadArtifact(run, "model.json");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, bytes);

  // One flipped byte: Corruption naming the run, the artifact and the file.
  const std::string path = store.PathOf(info->sha256);
  std::string damaged = test::ReadAll(path);
  damaged[2500] ^= 0x20;
  test::WriteFile(path, damaged);
  auto bad = tracker.ReadArtifact(run, "model.json");
  ASSERT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find("model.json"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find(run), std::string::npos);
  EXPECT_NE(bad.status().message().find(path), std::string::npos);
}

TEST_P(TrackerTest, UnknownRunIdsAreNotFound) {
  const std::string ghost = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(tracker_->GetRun(ghost).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tracker_->GetRunDetails(ghost).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tracker_->LogParam(ghost, "a", "b").code(), StatusCode::kNotFound);
  EXPECT_EQ(tracker_->LogMetric(ghost, "a", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(tracker_->SetTag(ghost, "a", "b").code(), StatusCode::kNotFound);
  EXPECT_EQ(tracker_->LogArtifact(ghost, "a", "b", "text/plain").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tracker_->EndRun(ghost, RunStatus::kFinished).code(), StatusCode::kNotFound);
  EXPECT_NE(tracker_->GetRun(ghost).status().message().find(ghost), std::string::npos);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM run_params"), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, TrackerTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace lathe::ml
