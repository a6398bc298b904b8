// The backup folder: which of its folders are snapshots (those with a valid manifest,
// never a .tmp-* folder), the lock that serialises snapshot/prune/restore, and the
// clean-up of folders an interrupted snapshot left behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "common/file_lock.h"

namespace agentron {

struct SnapshotInfo {
  std::filesystem::path dir;
  Manifest manifest;
  std::chrono::system_clock::time_point created;
  std::optional<bool> verified;  // the last `verify`: ok or not; nullopt if never verified
  std::string verified_at;
};

// Snapshots in `backup_dir`, oldest first. A folder whose manifest is missing or
// does not parse is not a snapshot and is never listed (nor pruned).
std::vector<SnapshotInfo> list_snapshots(const std::filesystem::path& backup_dir);

// The newest snapshot, reading only its manifest (folder names carry their UTC time).
std::optional<SnapshotInfo> newest_snapshot(const std::filesystem::path& backup_dir);

// Finds a snapshot by folder name.
Result<SnapshotInfo> find_snapshot(const std::filesystem::path& backup_dir, const std::string& name);

// Exclusive use of the backup folder for a snapshot, a prune or a restore.
Result<FileLock> lock_backup_dir(const std::filesystem::path& backup_dir);

// REQUIRES: the backup dir lock. Removes .tmp-* folders left by snapshots that were
// interrupted; returns their names.
std::vector<std::string> remove_incomplete_snapshots(const std::filesystem::path& backup_dir);

inline constexpr const char* kTempPrefix = ".tmp-";

// "2026-11-27T05:01:02Z" → time point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_utc_iso8601(const std::string& text);

}  // namespace agentron
