// The shell and webhook operators in-process, with a TaskContext made here.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "pipeline/shell_operator.h"
#include "pipeline/webhook.h"
#include "test_util.h"
#include "webhook_receiver.h"

namespace lathe::pipeline {
namespace {

using nlohmann::json;

struct Harness {
  std::string log;
  std::atomic<bool> cancel{false};
  TaskContext ctx;
  Harness() {
    ctx.dag_id = "d";
    ctx.run_id = "d@2026-11-03";
    ctx.task_id = "t";
    ctx.ds = "2026-11-03";
    ctx.try_number = 2;
    ctx.data_dir = "/tmp";
    ctx.log_line = [this](std::string_view l) { log += std::string(l) + "\n"; };
    ctx.log_raw = [this](std::string_view b) { log += std::string(b); };
    ctx.cancel = &cancel;
  }
};

Result<json> RunShell(Harness& h, const json& params) {
  auto op = MakeShellOperator(params);
  if (!op.ok()) return op.status();
  h.ctx.params = params;
  return (*op)->Run(h.ctx);
}

TEST(ShellOperator, CapturesOutputAndSeesTheRunInItsEnvironment) {
  Harness h;
  auto r = RunShell(h, {{"command", "echo out $LATHE_DS $LATHE_DS_NODASH $LATHE_TRY_NUMBER $EXTRA; echo err >&2"},
                        {"env", {{"EXTRA", "x"}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["exit_code"], 0);
  EXPECT_NE(h.log.find("out 2026-11-03 20261103 2 x"), std::string::npos) << h.log;
  EXPECT_NE(h.log.find("err"), std::string::npos);
}

TEST(ShellOperator, OutputsFileBecomesTheOutputs) {
  Harness h;
  auto r = RunShell(h, {{"command", "echo '{\"rows\": 42}' > \"$LATHE_OUTPUTS\""}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["rows"], 42);
  Harness bad;
  auto b = RunShell(bad, {{"command", "echo '[1' > \"$LATHE_OUTPUTS\""}});
  EXPECT_NE(b.status().message().find("does not hold a JSON object"), std::string::npos);
}

TEST(ShellOperator, NonZeroExitFails) {
  Harness h;
  auto r = RunShell(h, {{"command", "exit 3"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "command exited with status 3");
  auto s = RunShell(h, {{"command", "kill -9 $$"}});
  EXPECT_EQ(s.status().message(), "command killed by signal 9");
}

TEST(ShellOperator, DeadlineKillsTheWholeProcessGroup) {
  test::TempDir dir;
  Harness h;
  h.ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  // The background sleep is a grandchild: it must die with the group.
  auto r = RunShell(h, {{"command", "sleep 30 & echo $! > " + dir / "pid" + "; wait"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  pid_t grandchild = std::stoi(test::ReadAll(dir / "pid"));
  for (int i = 0; i < 100 && kill(grandchild, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NE(kill(grandchild, 0), 0) << "sleep survived its group being killed";
}

TEST(ShellOperator, CancellationStopsTheCommand) {
  Harness h;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    h.cancel.store(true);
  });
  auto r = RunShell(h, {{"command", "sleep 30"}});
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos);
}

TEST(WebhookOperator, PostsTheBodyAndFailsOnAnErrorStatus) {
  test::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  Harness h;
  json params = {{"url", receiver.url()}, {"body", {{"model", "fraud"}, {"day", "2026-11-03"}}}};
  auto op = MakeWebhookOperator(params);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  auto r = (*op)->Run(h.ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["response"]["ok"], true);
  auto defaults = MakeWebhookOperator({{"url", receiver.url()}});
  ASSERT_TRUE((*defaults)->Run(h.ctx).ok());
  receiver.set_status(500);
  auto failed = (*op)->Run(h.ctx);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("HTTP 500"), std::string::npos) << failed.status().message();
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0], (json{{"model", "fraud"}, {"day", "2026-11-03"}}));
  EXPECT_EQ(bodies[1]["run_id"], "d@2026-11-03");
  EXPECT_EQ(bodies[1]["task_id"], "t");
}

TEST(WebhookOperator, UnreachableUrlIsUnavailable) {
  Status st = PostJson("http://127.0.0.1:1/hook", json::object(), std::chrono::milliseconds(2000));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("POST http://127.0.0.1:1/hook"), std::string::npos) << st.message();
}

TEST(OperatorRegistry, FunctionOperatorsRegisterInOneLine) {
  OperatorRegistry r;
  RegisterBuiltinOperators(&r);
  r.Register("double", [](TaskContext& ctx) -> Result<json> { return json{{"n", ctx.Param<int>("n", 0) * 2}}; },
             [](const json& p) { return p.contains("n") ? Status::OK() : InvalidArgument("param 'n' is required"); });
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"double", "shell", "webhook"}));
  EXPECT_FALSE((*r.Find("double"))(json::object()).ok());
  auto op = (*r.Find("double"))(json{{"n", 21}});
  ASSERT_TRUE(op.ok());
  Harness h;
  h.ctx.params = {{"n", 21}};
  EXPECT_EQ((*(*op)->Run(h.ctx))["n"], 42);
  EXPECT_EQ(r.Find("nope"), nullptr);
}

}  // namespace
}  // namespace lathe::pipeline
