#include "pipeline/cron.h"

#include <gtest/gtest.h>

#include "pipeline/template.h"

namespace lathe::pipeline {
namespace {

int64_t At(const std::string& day, int h = 0, int m = 0) { return *ParseDate(day) + h * 3600 + m * 60; }

TEST(Cron, DailyFiresAtMidnightStrictlyAfter) {
  auto c = CronSchedule::Parse("0 0 * * *");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Next(At("2026-11-01")), At("2026-11-02"));
  EXPECT_EQ(c->Next(At("2026-11-01") - 1), At("2026-11-01"));
  EXPECT_EQ(c->Next(At("2026-12-31", 23, 59)), At("2027-01-01"));
}

TEST(Cron, StepsRangesListsAndNames) {
  auto c = CronSchedule::Parse("*/15 9-17 * * mon-fri");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // 2026-11-06 is a Friday; the next firing after Friday 17:45 is Monday 09:00.
  EXPECT_EQ(c->Next(At("2026-11-06", 17, 30)), At("2026-11-06", 17, 45));
  EXPECT_EQ(c->Next(At("2026-11-06", 17, 45)), At("2026-11-09", 9, 0));
  auto l = CronSchedule::Parse("5,35 2 1 jan,jul *");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->Next(At("2026-11-01")), At("2027-01-01", 2, 5));
  EXPECT_EQ(l->Next(At("2027-01-01", 2, 5)), At("2027-01-01", 2, 35));
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothGiven) {
  // Vixie cron: the 13th of the month or any Friday.
  auto c = CronSchedule::Parse("0 0 13 * 5");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Next(At("2026-11-01")), At("2026-11-06"));   // Friday
  EXPECT_EQ(c->Next(At("2026-11-06")), At("2026-11-13"));   // 13th (also a Friday)
  EXPECT_EQ(c->Next(At("2026-11-13")), At("2026-11-20"));
  auto sunday7 = CronSchedule::Parse("0 0 * * 7");
  ASSERT_TRUE(sunday7.ok());
  EXPECT_EQ(sunday7->Next(At("2026-11-01")), At("2026-11-08"));  // 2026-11-01 is a Sunday
}

TEST(Cron, MacrosAndImpossibleDates) {
  EXPECT_EQ(CronSchedule::Parse("@daily")->Next(At("2026-11-01", 5)), At("2026-11-02"));
  EXPECT_EQ(CronSchedule::Parse("@hourly")->Next(At("2026-11-01", 5, 1)), At("2026-11-01", 6));
  EXPECT_EQ(CronSchedule::Parse("0 0 30 2 *")->Next(At("2026-01-01")), -1);
  EXPECT_EQ(CronSchedule::Parse("0 0 29 2 *")->Next(At("2026-01-01")), At("2028-02-29"));
}

TEST(Cron, BadExpressionsNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "expected 5 fields"},
      {"0 0 * *", "expected 5 fields"},
      {"0 0 * * * *", "expected 5 fields"},
      {"60 0 * * *", "minute field '60': 60 is outside 0-59"},
      {"0 24 * * *", "hour field '24': 24 is outside 0-23"},
      {"0 0 0 * *", "day of month field '0': 0 is outside 1-31"},
      {"0 0 * 13 *", "month field '13'"},
      {"0 0 * * 8", "day of week field '8'"},
      {"*/0 * * * *", "step '0' is not a positive number"},
      {"5-1 * * * *", "runs backwards"},
      {"a * * * *", "'a' is not a number"},
      {"1,,2 * * * *", "empty list item"},
      {"@sometimes", "unknown macro"},
  };
  for (const auto& [expr, message] : cases) {
    auto c = CronSchedule::Parse(expr);
    ASSERT_FALSE(c.ok()) << expr;
    EXPECT_NE(c.status().message().find(message), std::string::npos) << expr << " -> " << c.status().message();
  }
}

TEST(Template, RunDateVariables) {
  TemplateVars v{"2026-03-01", "d", "d@2026-03-01", "t", "/data"};
  EXPECT_EQ(*RenderTemplate("{{ ds }} {{ds_nodash}} {{ ds_minus_1 }} {{ ds_plus_30 }} {{ ds_nodash_minus_7 }}", v),
            "2026-03-01 20260301 2026-02-28 2026-03-31 20260222");
  EXPECT_EQ(*RenderTemplate("{{ dag_id }}/{{ run_id }}/{{ task_id }} in {{ data_dir }}", v), "d/d@2026-03-01/t in /data");
  EXPECT_EQ(*RenderTemplate("no placeholders", v), "no placeholders");
  auto params = RenderParams(nlohmann::json{{"window", {{"from", "{{ ds_minus_6 }}"}, {"to", "{{ ds }}"}}}, {"n", 3}}, v);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ((*params)["window"]["from"], "2026-02-23");
  EXPECT_EQ((*params)["n"], 3);
}

TEST(Template, BadTemplatesAreErrors) {
  TemplateVars v{"2026-03-01", "d", "r", "t", "/data"};
  const std::pair<std::string, std::string> cases[] = {
      {"{{ ds", "unclosed '{{'"},
      {"{{ yesterday }}", "unknown template variable 'yesterday'"},
      {"{{ ds_minus_x }}", "'x' is not a number of days"},
      {"{{ ds_minus_ }}", "days must be 0-3650"},
      {"{{ ds_plus_9999 }}", "days must be 0-3650"},
      {"{{ ds_times_2 }}", "unknown template variable"},
  };
  for (const auto& [text, message] : cases) {
    auto r = RenderTemplate(text, v);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(message), std::string::npos) << text << " -> " << r.status().message();
  }
  EXPECT_FALSE(ParseDate("2026-02-30").ok());
  EXPECT_FALSE(ParseDate("2026-2-3").ok());
}

}  // namespace
}  // namespace lathe::pipeline
