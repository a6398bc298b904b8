#include "backup/catalog.h"

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "backup/backup_key.h"
#include "backup/manifest_rules.h"
#include "common/atomic_file.h"
#include "common/utc_time.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

std::optional<std::chrono::system_clock::time_point> parse_utc_iso8601(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

const char* to_string(Trust trust) {
  switch (trust) {
    case Trust::authenticated: return "authenticated";
    case Trust::unauthenticated: return "unauthenticated";
    case Trust::untrusted: return "untrusted";
  }
  return "?";
}

namespace {

constexpr const char* kVerifySealDomain = "agentron-supervisor verify v1";

// A verify.json counts only if sealed, and sealed for this very manifest: one copied
// from another snapshot, or edited to say "ok", is as if there were none.
void read_verification(SnapshotInfo& info, const Result<BackupKey>& key) {
  std::ifstream in(info.dir / kVerifyFile);
  if (!in) return;
  auto j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (check_seal(j, key, kVerifySealDomain).state != SealState::sealed) return;
  if (j.value("snapshot", json()) != info.manifest.name || j.value("manifest_hmac", json()) != info.manifest_mac ||
      !j.value("ok", json()).is_boolean()) {
    return;
  }
  info.verified = j["ok"].get<bool>();
  info.verified_at = j.value("verified_at", json()).is_string() ? j["verified_at"].get<std::string>() : "";
}

// Sets how far `info` can be trusted, from its manifest's seal and entries.
void judge(SnapshotInfo& info, const SealCheck& seal) {
  // The entries first: a bad one is what makes an unsealed manifest untrusted.
  info.distrust = manifest_problems(info.manifest);
  info.entries_valid = info.distrust.empty();
  if (seal.state == SealState::broken) info.distrust.push_back("manifest.json: " + seal.problem);
  if (seal.state == SealState::unsealed) {
    info.distrust.push_back("manifest.json: no MAC: made by an older version, or not by this supervisor");
  }
  if (!info.entries_valid || seal.state == SealState::broken) {
    info.trust = Trust::untrusted;
  } else if (seal.state == SealState::unsealed) {
    info.trust = Trust::unauthenticated;
  } else {
    info.trust = Trust::authenticated;
    info.manifest_mac = seal.mac;
  }
}

std::optional<SnapshotInfo> read_snapshot(const fs::path& dir, const Result<BackupKey>& key) {
  auto j = read_manifest_json(dir);
  if (!j) return std::nullopt;
  auto manifest = Manifest::from_json(*j);
  if (!manifest || manifest->name != dir.filename().string()) return std::nullopt;
  auto created = parse_utc_iso8601(manifest->created_at);
  if (!created) return std::nullopt;
  SnapshotInfo info;
  info.dir = dir;
  info.manifest = std::move(manifest.value());
  info.created = *created;
  judge(info, check_seal(*j, key, kManifestSealDomain));
  if (info.trust == Trust::authenticated) read_verification(info, key);
  return info;
}

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

}  // namespace

std::optional<SnapshotInfo> newest_authenticated_snapshot(const BackupPaths& paths) {
  std::vector<std::pair<std::string, fs::path>> candidates;  // (stamp, dir)
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    candidates.emplace_back(stamp_of(name), entry.path());
  }
  // Newest stamp first; within one second, "-10" after "-9" after "-2" after none.
  auto key_of = [](const auto& c) {
    std::string name = c.second.filename().string();
    return std::tuple(c.first, name.size(), name);
  };
  std::sort(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) { return key_of(a) > key_of(b); });
  auto key = BackupKey::load(paths.key_file);
  for (const auto& [stamp, dir] : candidates) {
    if (auto info = read_snapshot(dir, key); info && info->trust == Trust::authenticated) return info;
  }
  return std::nullopt;
}

std::vector<SnapshotInfo> list_snapshots(const BackupPaths& paths) {
  std::vector<SnapshotInfo> snapshots;
  auto key = BackupKey::load(paths.key_file);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (auto info = read_snapshot(entry.path(), key)) snapshots.push_back(std::move(*info));
  }
  std::sort(snapshots.begin(), snapshots.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
    return a.created != b.created ? a.created < b.created : a.manifest.name < b.manifest.name;
  });
  return snapshots;
}

Result<SnapshotInfo> find_snapshot(const BackupPaths& paths, const std::string& name) {
  for (auto& s : list_snapshots(paths)) {
    if (s.manifest.name == name) return std::move(s);
  }
  return Error{"no_such_snapshot", "no snapshot named '" + name + "' in " + paths.dir.string() +
                                       " (`agentron-supervisor backups list` shows them)"};
}

Status record_verification(const SnapshotInfo& snapshot, const BackupPaths& paths, bool ok,
                           const std::vector<std::string>& problems) {
  auto key = BackupKey::load(paths.key_file);
  if (!key) return key.error();
  json record = {{"snapshot", snapshot.manifest.name},
                 {"manifest_hmac", snapshot.manifest_mac},
                 {"verified_at", utc_now_iso8601()},
                 {"ok", ok},
                 {"problems", problems}};
  if (auto s = seal(record, *key, kVerifySealDomain); !s) return s;
  return write_file_atomically(snapshot.dir / kVerifyFile, record.dump(1) + "\n");
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

nlohmann::json snapshot_json(const SnapshotInfo& s) {
  nlohmann::json databases = nlohmann::json::object();
  for (const auto& e : s.manifest.entries) {
    if (e.type == EntryType::sqlite) databases[e.path] = {{"integrity", e.integrity}, {"counts", e.counts}};
  }
  return {{"name", s.manifest.name},
          {"dir", s.dir.string()},
          {"kind", s.manifest.kind},
          {"request_id", s.manifest.request_id},
          {"created_at", s.manifest.created_at},
          {"bytes", s.manifest.bytes},
          {"copied_bytes", s.manifest.copied_bytes},
          {"linked_files", s.manifest.linked_files},
          {"entries", s.manifest.entries.size()},
          {"databases", databases},
          {"verified", s.verified ? nlohmann::json(*s.verified) : nlohmann::json(nullptr)},
          {"verified_at", s.verified_at},
          {"trust", to_string(s.trust)},
          {"distrust", s.distrust}};
}

}  // namespace agentron
