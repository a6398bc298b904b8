// Verifying a snapshot: every file re-hashed against the manifest, every database
// through PRAGMA integrity_check, every difference named.
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

// Verifies a snapshot and records the outcome in its verify.json (a new file; the
// snapshot's own files are never modified).
Result<VerifyReport> verify_snapshot(const SnapshotInfo& snapshot);

}  // namespace agentron
