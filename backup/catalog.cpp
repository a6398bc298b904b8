#include "backup/catalog.h"

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

namespace agentron {
namespace fs = std::filesystem;

std::optional<std::chrono::system_clock::time_point> parse_utc_iso8601(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

namespace {

void read_verification(SnapshotInfo& info) {
  std::ifstream in(info.dir / kVerifyFile);
  if (!in) return;
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j["ok"].is_boolean()) return;
  info.verified = j["ok"].get<bool>();
  info.verified_at = j.value("verified_at", "");
}

}  // namespace

std::vector<SnapshotInfo> list_snapshots(const fs::path& backup_dir) {
  std::vector<SnapshotInfo> snapshots;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(backup_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    auto manifest = Manifest::read(entry.path());
    if (!manifest || manifest->name != name) continue;
    auto created = parse_utc_iso8601(manifest->created_at);
    if (!created) continue;
    SnapshotInfo info{entry.path(), std::move(manifest.value()), *created, std::nullopt, ""};
    read_verification(info);
    snapshots.push_back(std::move(info));
  }
  std::sort(snapshots.begin(), snapshots.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
    return a.created != b.created ? a.created < b.created : a.manifest.name < b.manifest.name;
  });
  return snapshots;
}

Result<SnapshotInfo> find_snapshot(const fs::path& backup_dir, const std::string& name) {
  for (auto& s : list_snapshots(backup_dir)) {
    if (s.manifest.name == name) return std::move(s);
  }
  return Error{"no_such_snapshot", "no snapshot named '" + name + "' in " + backup_dir.string() +
                                       " (`agentron-supervisor backups list` shows them)"};
}

Result<FileLock> lock_backup_dir(const fs::path& backup_dir) {
  std::string holder;
  auto lock = FileLock::try_acquire(backup_dir / ".lock", &holder);
  if (!lock && lock.error().code == "locked") {
    return Error{"backup_busy", "another backup operation (pid " + holder + ") is using " + backup_dir.string() +
                                    "; wait for it to finish"};
  }
  return lock;
}

std::vector<std::string> remove_incomplete_snapshots(const fs::path& backup_dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(backup_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    fs::remove_all(entry.path(), ec);
    removed.push_back(name);
  }
  return removed;
}

}  // namespace agentron
