// Verifying a snapshot: its manifest authenticated and its entries valid, every file
// re-hashed against the manifest, every database through PRAGMA integrity_check,
// every difference named.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "backup/catalog.h"
#include "backup/manifest.h"

namespace agentron {

struct VerifyReport {
  std::string name;
  std::vector<std::string> problems;  // empty: verified
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  bool ok() const { return problems.empty(); }
};

// Compares the tree at `root` with `manifest`. Top-level names in `ignore` are not
// reported as unexpected (the snapshot's own manifest.json; a live data dir's
// .supervisor/ and backups/).
VerifyReport check_tree(const std::filesystem::path& root, const Manifest& manifest,
                        const std::set<std::string>& ignore);

// Verifies a snapshot: first why it is not authenticated, if it is not (each invalid
// entry named); then, if its entries are valid, its files against the manifest. The
// outcome of an authenticated snapshot is recorded in its verify.json (catalog.h).
Result<VerifyReport> verify_snapshot(const SnapshotInfo& snapshot, const BackupPaths& paths);

}  // namespace agentron
