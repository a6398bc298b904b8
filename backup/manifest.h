// manifest.json: what a snapshot holds, written last — a folder without a valid
// manifest is not a snapshot (docs/design.md §3; docs/operations.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentron {

enum class EntryType { dir, file, sqlite, symlink };
const char* to_string(EntryType type);

struct ManifestEntry {
  std::string path;  // relative to the data dir, '/'-separated
  EntryType type = EntryType::file;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::int64_t mtime_ns = 0;
  std::string sha256;                          // file and sqlite
  std::string target;                          // symlink
  std::string integrity;                       // sqlite: "ok" or the problems
  std::map<std::string, std::int64_t> counts;  // sqlite: rows per table
};

struct SkippedEntry {
  std::string path;
  std::string reason;
};

struct Manifest {
  static constexpr int kFormat = 1;
  std::string name;             // the snapshot folder's name
  std::string kind;             // "manual", "pre-restart", ...
  std::string request_id;       // empty unless a handover took it
  std::string created_at;       // UTC ISO 8601
  std::int64_t started_ns = 0;  // wall clock when the scan began (racy-file check)
  std::string data_dir;
  std::vector<ManifestEntry> entries;
  std::vector<SkippedEntry> skipped;
  std::uint64_t bytes = 0;         // sum of file and database sizes
  std::uint64_t copied_bytes = 0;  // of which copied (the rest hard-linked)
  std::uint64_t linked_files = 0;

  nlohmann::json to_json_value() const;
  std::string to_json() const;
  static Result<Manifest> from_json(const nlohmann::json& j);
  static Result<Manifest> parse(const std::string& text);
};

// manifest.json of `snapshot_dir`, parsed as JSON (not yet as a Manifest: its seal is
// checked on the JSON, backup/backup_key.h). Error code "no_manifest" if unreadable.
Result<nlohmann::json> read_manifest_json(const std::filesystem::path& snapshot_dir);

// The domain of a manifest's seal (backup/backup_key.h).
inline constexpr const char* kManifestSealDomain = "agentron-supervisor manifest v1";

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kVerifyFile = "verify.json";

}  // namespace agentron
