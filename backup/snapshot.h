// Taking a snapshot of the data dir (docs/operations.md, "Backups"):
// consistent (databases through the SQLite online backup API), incremental (files
// unchanged since the previous snapshot are hard-linked to it), atomic (built in a
// .tmp- folder, manifest last, renamed into place) and durable (every file and
// folder fsynced before the rename, the backup folder after it) and authenticated
// (the manifest is sealed with the supervisor's key; only an authenticated snapshot
// is ever the base of an incremental one).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "common/fs_identity.h"
#include "common/result.h"

namespace agentron {

struct SnapshotOptions {
  std::filesystem::path data_dir;
  std::filesystem::path backup_dir;
  std::vector<std::string> exclude;  // globs relative to the data dir
  std::string kind = "manual";       // "manual", "pre-restart", ...
  std::string request_id;            // appended to the name when set
  std::filesystem::path key_file;    // backup_key_file(<state dir>); created if missing
  // [app] user: the app's databases are opened as that user (common/fs_identity.h).
  std::optional<FsIdentity> reader;
  // The app's own database ([health] database, relative): always in the snapshot, or
  // the snapshot fails. Another database SQLite would refuse (a decoy whose -journal is
  // a symlink) is left out with a warning instead of failing every snapshot.
  std::string essential_database;
};

struct SnapshotResult {
  Manifest manifest;
  std::filesystem::path dir;
  std::vector<std::string> warnings;  // skipped special files, files that vanished
  std::vector<std::string> cleaned;   // .tmp- folders of interrupted snapshots removed first
};

Result<SnapshotResult> create_snapshot(const SnapshotOptions& options);

// A snapshot just made as `backups create --json` and POST /v1/backups answer it:
// snapshot_json (backup/catalog.h) with its warnings.
nlohmann::json created_snapshot_json(const SnapshotResult& result);

// True if `relative` (a '/'-separated path inside the data dir) is never part of a
// snapshot: .supervisor/, backups/, the backup folder itself, or an `exclude` glob
// matching it or one of its parent folders.
bool is_excluded(const std::string& relative, const std::vector<std::string>& exclude,
                 const std::string& backup_dir_relative);

}  // namespace agentron
