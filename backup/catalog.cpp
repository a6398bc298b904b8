#include "backup/catalog.h"

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

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
  if (j["verified_at"].is_string()) info.verified_at = j["verified_at"].get<std::string>();
}

}  // namespace

namespace {

// "manual-20261127T055106Z-2" → "20261127T055106Z" (the first such token), or "".
std::string stamp_of(const std::string& name) {
  for (size_t i = 0; i + 16 <= name.size(); ++i) {
    std::string_view t(name.data() + i, 16);
    bool shape = t[8] == 'T' && t[15] == 'Z';
    for (size_t k = 0; shape && k < 15; ++k) shape = k == 8 || (t[k] >= '0' && t[k] <= '9');
    if (shape) return std::string(t);
  }
  return "";
}

std::optional<SnapshotInfo> read_snapshot(const fs::path& dir) {
  auto manifest = Manifest::read(dir);
  if (!manifest || manifest->name != dir.filename().string()) return std::nullopt;
  auto created = parse_utc_iso8601(manifest->created_at);
  if (!created) return std::nullopt;
  SnapshotInfo info{dir, std::move(manifest.value()), *created, std::nullopt, ""};
  read_verification(info);
  return info;
}

}  // namespace

std::optional<SnapshotInfo> newest_snapshot(const fs::path& backup_dir) {
  std::vector<std::pair<std::string, fs::path>> candidates;  // (stamp, dir)
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(backup_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec)) continue;
    candidates.emplace_back(stamp_of(name), entry.path());
  }
  // Newest stamp first; within one second, "-10" after "-9" after "-2" after none.
  auto key = [](const auto& c) {
    std::string name = c.second.filename().string();
    return std::tuple(c.first, name.size(), name);
  };
  std::sort(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) { return key(a) > key(b); });
  for (const auto& [stamp, dir] : candidates) {
    if (auto info = read_snapshot(dir)) return info;
  }
  return std::nullopt;
}

std::vector<SnapshotInfo> list_snapshots(const fs::path& backup_dir) {
  std::vector<SnapshotInfo> snapshots;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(backup_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (auto info = read_snapshot(entry.path())) snapshots.push_back(std::move(*info));
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
  if (!lock && lock.error().code == kLockedCode) {
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
