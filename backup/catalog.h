// The backup folder: which of its folders are snapshots (those with a valid manifest,
// never a .tmp-* folder) and which of those the supervisor made (their manifest is
// sealed with its key, backup/backup_key.h), the lock that serialises
// snapshot/prune/restore, and the clean-up of folders an interrupted snapshot left.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "common/file_lock.h"

namespace agentron {

// Where the snapshots are, and the key that tells the supervisor's own from others.
struct BackupPaths {
  std::filesystem::path dir;       // [backup] dir
  std::filesystem::path key_file;  // backup_key_file(<state dir>)
};

// How far a snapshot can be trusted (docs/operations.md, "Backups").
enum class Trust {
  authenticated,    // its manifest is sealed with the key and every entry is valid
  unauthenticated,  // valid entries, no seal: an older version made it — or anyone
  untrusted,        // a seal that does not match (or no key to check it), or invalid entries
};
const char* to_string(Trust trust);

struct SnapshotInfo {
  std::filesystem::path dir;
  Manifest manifest;
  std::chrono::system_clock::time_point created;
  std::optional<bool> verified;  // the last sealed `verify`: ok or not; nullopt if none
  std::string verified_at;
  Trust trust = Trust::untrusted;
  std::vector<std::string> distrust;  // why it is not authenticated: each bad entry, then the seal
  bool entries_valid = false;         // backup/manifest_rules.h passes: its paths may be looked at
  std::string manifest_mac;           // the manifest's MAC, if authenticated
};

// Snapshots in `paths.dir`, oldest first, each with its trust. A folder whose
// manifest is missing, does not parse or names another folder is not a snapshot and
// is never listed (nor pruned).
std::vector<SnapshotInfo> list_snapshots(const BackupPaths& paths);

// A snapshot as `backups list --json` and the control API's /v1/backups show it.
nlohmann::json snapshot_json(const SnapshotInfo& s);

// The newest authenticated snapshot — the only kind an incremental snapshot may
// hard-link from — reading manifests newest first (folder names carry their UTC time).
std::optional<SnapshotInfo> newest_authenticated_snapshot(const BackupPaths& paths);

// Finds a snapshot by folder name, whatever its trust.
Result<SnapshotInfo> find_snapshot(const BackupPaths& paths, const std::string& name);

// Exclusive use of the backup folder for a snapshot, a prune or a restore.
Result<FileLock> lock_backup_dir(const std::filesystem::path& backup_dir);

// REQUIRES: the backup dir lock. Removes .tmp-* folders left by snapshots that were
// interrupted; returns their names.
std::vector<std::string> remove_incomplete_snapshots(const std::filesystem::path& backup_dir);

inline constexpr const char* kTempPrefix = ".tmp-";

// REQUIRES: `snapshot` is authenticated. Writes the outcome of a verify as the
// snapshot's verify.json (a new file; the snapshot's own files are never modified),
// sealed with the key and bound to this snapshot's manifest, so that list and prune
// believe it only for this snapshot and only if nobody edited it.
Status record_verification(const SnapshotInfo& snapshot, const BackupPaths& paths, bool ok,
                           const std::vector<std::string>& problems);

// "2026-11-27T05:01:02Z" → time point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_utc_iso8601(const std::string& text);

}  // namespace agentron
