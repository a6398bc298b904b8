#include "supervisor/instance_record.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace agentron {
namespace fs = std::filesystem;

namespace {
fs::path record_path(const fs::path& state_dir, SlotRole role) {
  return state_dir / (std::string(to_string(role)) + ".json");
}
}  // namespace

const char* to_string(SlotRole role) {
  switch (role) {
    case SlotRole::current: return "current";
    case SlotRole::candidate: return "candidate";
    case SlotRole::retiring: return "retiring";
    case SlotRole::orphan: return "orphan";
  }
  return "?";
}

std::optional<unsigned long long> process_start_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may itself contain spaces and ')'
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string state;
  fields >> state;  // field 3
  if (state == "Z" || state == "X") return std::nullopt;
  std::string skip;
  for (int field = 4; field < 22; ++field) fields >> skip;
  unsigned long long ticks = 0;
  if (!(fields >> ticks)) return std::nullopt;
  return ticks;
}

void write_instance_record(const fs::path& state_dir, const InstanceRecord& record, SlotRole role) {
  nlohmann::json j = {{"instance_id", record.instance_id}, {"pid", record.pid}, {"start_ticks", record.start_ticks}};
  fs::path tmp = record_path(state_dir, role).string() + ".tmp";
  std::ofstream(tmp) << j.dump() << "\n";
  std::error_code ec;
  fs::rename(tmp, record_path(state_dir, role), ec);
}

void remove_instance_record(const fs::path& state_dir, SlotRole role) {
  std::error_code ec;
  fs::remove(record_path(state_dir, role), ec);
}

std::optional<InstanceRecord> live_recorded_instance(const fs::path& state_dir, SlotRole role) {
  std::ifstream in(record_path(state_dir, role));
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j["pid"].is_number_integer() || !j["start_ticks"].is_number_unsigned() ||
      !j["instance_id"].is_string()) {
    return std::nullopt;  // not one we wrote: nothing of ours to find
  }
  InstanceRecord record{j["instance_id"].get<std::string>(), j["pid"].get<pid_t>(),
                        j["start_ticks"].get<unsigned long long>()};
  auto ticks = process_start_ticks(record.pid);
  if (!ticks || *ticks != record.start_ticks) return std::nullopt;
  return record;
}

std::vector<InstanceRecord> live_recorded_instances(const fs::path& state_dir) {
  std::vector<InstanceRecord> live;
  for (SlotRole role : {SlotRole::current, SlotRole::candidate, SlotRole::retiring}) {
    if (auto r = live_recorded_instance(state_dir, role)) live.push_back(*r);
  }
  return live;
}

std::vector<InstanceRecord> unrecorded_instances(const fs::path& data_dir, const std::vector<pid_t>& recorded) {
  std::vector<InstanceRecord> found;
  std::string want_dir = "AGENTRON_DATA_DIR=" + data_dir.string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (::getpgid(pid) != pid || std::find(recorded.begin(), recorded.end(), pid) != recorded.end()) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool ours = false;
    std::string instance_id;
    for (size_t at = 0; at < env.size();) {
      size_t end = env.find('\0', at);
      if (end == std::string::npos) end = env.size();
      std::string var = env.substr(at, end - at);
      if (var == want_dir) ours = true;
      if (var.rfind("AGENTRON_INSTANCE_ID=", 0) == 0) instance_id = var.substr(21);
      at = end + 1;
    }
    auto ticks = process_start_ticks(pid);
    if (ours && !instance_id.empty() && ticks) found.push_back({instance_id, pid, *ticks});
  }
  return found;
}

}  // namespace agentron
