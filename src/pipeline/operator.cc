#include "pipeline/operator.h"

#include "pipeline/shell_operator.h"
#include "pipeline/webhook.h"

namespace lathe::pipeline {
namespace {

class FunctionOperator : public Operator {
 public:
  explicit FunctionOperator(OperatorFunction run) : run_(std::move(run)) {}
  Result<nlohmann::json> Run(TaskContext& ctx) override { return run_(ctx); }

 private:
  OperatorFunction run_;
};

}  // namespace

void OperatorRegistry::Register(const std::string& name, OperatorFactory factory) {
  factories_[name] = std::move(factory);
}

void OperatorRegistry::Register(const std::string& name, OperatorFunction run,
                                std::function<Status(const nlohmann::json&)> check) {
  Register(name, [run = std::move(run), check = std::move(check)](
                     const nlohmann::json& params) -> Result<std::unique_ptr<Operator>> {
    if (check) LATHE_RETURN_IF_ERROR(check(params));
    return std::unique_ptr<Operator>(std::make_unique<FunctionOperator>(run));
  });
}

const OperatorFactory* OperatorRegistry::Find(const std::string& name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> OperatorRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories_) names.push_back(name);
  return names;
}

void RegisterBuiltinOperators(OperatorRegistry* registry) {
  registry->Register("shell", OperatorFactory(MakeShellOperator));
  registry->Register("webhook", OperatorFactory(MakeWebhookOperator));
}

}  // namespace lathe::pipeline
