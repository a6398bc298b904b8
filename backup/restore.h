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

// REQUIRES: nothing runs on `data_dir` (the caller stopped the app) and the caller
// holds the backup dir lock. The snapshot is verified first; if it fails, nothing
// is changed. `backup_dir` is moved along if it lives inside the data dir.
Result<RestoreResult> restore_snapshot(const SnapshotInfo& snapshot, const std::filesystem::path& data_dir,
                                       const std::filesystem::path& backup_dir);

}  // namespace agentron
