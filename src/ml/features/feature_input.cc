#include "ml/features/feature_input.h"

#include <unordered_map>

namespace lathe::ml {

const std::vector<std::string>& FeatureInputColumns() {
  static const std::vector<std::string> kColumns = {"transaction_id", "ts",        "customer_id", "terminal_id",
                                                    "amount",         "device_id", "is_fraud",    "label_ts"};
  return kColumns;
}

FeatureInput FromTransactions(const std::vector<Transaction>& txs) {
  FeatureInput in;
  std::unordered_map<std::string, int32_t> devices;
  for (const Transaction& t : txs) {
    in.transaction_id.push_back(t.transaction_id);
    in.ts.push_back(t.ts);
    in.customer_id.push_back(t.customer_id);
    in.terminal_id.push_back(t.terminal_id);
    in.amount.push_back(t.amount);
    int32_t device = -1;
    if (!t.device_id.empty()) device = devices.emplace(t.device_id, static_cast<int32_t>(devices.size())).first->second;
    in.device.push_back(device);
    in.is_fraud.push_back(t.is_fraud ? 1 : 0);
    in.label_ts.push_back(t.label_ts);
  }
  return in;
}

Result<FeatureInput> FromFrame(const Frame& frame) {
  const FrameColumn* cols[8];
  for (size_t c = 0; c < 8; ++c) {
    cols[c] = frame.Find(FeatureInputColumns()[c]);
    if (!cols[c]) return InvalidArgument("feature input: the frame has no column '" + FeatureInputColumns()[c] + "'");
    bool nullable = c == 5 || c == 7;
    for (size_t i = 0; i < frame.rows && !nullable; ++i)
      if (cols[c]->IsNull(i)) return InvalidArgument("feature input: column '" + cols[c]->name + "' has a NULL");
  }
  auto as_int = [](const FrameColumn* col, size_t i) {
    return col->type == FrameColumn::Type::kInt ? col->ints[i] : static_cast<int64_t>(col->Number(i));
  };
  FeatureInput in;
  const FrameColumn* device = cols[5];
  std::unordered_map<std::string, int32_t> devices;
  for (size_t i = 0; i < frame.rows; ++i) {
    in.transaction_id.push_back(as_int(cols[0], i));
    in.ts.push_back(as_int(cols[1], i));
    in.customer_id.push_back(as_int(cols[2], i));
    in.terminal_id.push_back(as_int(cols[3], i));
    in.amount.push_back(cols[4]->Number(i));
    int32_t code = -1;
    if (!device->IsNull(i)) {
      std::string text = device->Text(i);
      if (!text.empty()) code = devices.emplace(std::move(text), static_cast<int32_t>(devices.size())).first->second;
    }
    in.device.push_back(code);
    in.is_fraud.push_back(as_int(cols[6], i) != 0 ? 1 : 0);
    in.label_ts.push_back(cols[7]->IsNull(i) ? 0 : as_int(cols[7], i));
  }
  return in;
}

Result<FeatureInput> LoadFeatureInput(storage::Db* db, int64_t from_ts, int64_t to_ts) {
  LATHE_ASSIGN_OR_RETURN(Frame frame, LoadWindow(db, "transactions", FeatureInputColumns(), "ts", from_ts, to_ts));
  return FromFrame(frame);
}

}  // namespace lathe::ml
