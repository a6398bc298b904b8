// Restoring a snapshot into the data dir. Nothing is deleted: the live data dir is
// swapped out atomically (renameat2 RENAME_EXCHANGE) and kept as
// <data_dir>.replaced-<UTC>; .supervisor/ and backups/ move into the restored tree.
#pragma once

#include <filesystem>

#include "backup/catalog.h"
#include "backup/verify.h"

namespace agentron {

struct RestoreResult {
  std::filesystem::path replaced;  // where the data dir that was live went
  VerifyReport restored;           // the restored data dir checked against the manifest
};

// Whether `snapshot` may be restored: never if untrusted; if unauthenticated (no
// seal: an older version's, or planted), only when the operator says so.
Status may_restore(const SnapshotInfo& snapshot, bool allow_unauthenticated);

// REQUIRES: nothing runs on `data_dir` (the caller stopped the app) and the caller
// holds the backup dir lock. Refused unless may_restore; then the snapshot is
// verified; if either fails, nothing is changed. Every entry is created beneath the
// new data dir without following a symlink (openat2). `backup_dir` is moved along if
// it lives inside the data dir.
Result<RestoreResult> restore_snapshot(const SnapshotInfo& snapshot, const std::filesystem::path& data_dir,
                                       const std::filesystem::path& backup_dir, bool allow_unauthenticated = false);

}  // namespace agentron
