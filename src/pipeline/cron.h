// CronSchedule: a standard 5-field cron expression (minute hour day-of-month
// month day-of-week), evaluated in UTC. Fields take *, numbers, ranges a-b,
// lists a,b and steps */n or a-b/n; day-of-week 0-7 (0 and 7 are Sunday);
// month and day names (jan, mon) and the macros @hourly @daily @weekly
// @monthly @yearly. Immutable after Parse; thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace lathe::pipeline {

class CronSchedule {
 public:
  // InvalidArgument naming the field and what is wrong with it.
  static Result<CronSchedule> Parse(const std::string& expr);

  // The first firing time strictly after `after` (Unix seconds, UTC).
  // Firing times are whole minutes. Returns -1 when none exists within
  // five years (for example "0 0 30 2 *").
  int64_t Next(int64_t after) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0..6, Sunday = 0
  bool any_day_ = true, any_weekday_ = true;
};

}  // namespace lathe::pipeline
