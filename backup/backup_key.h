// The key that authenticates what the supervisor writes about its snapshots (their
// manifest.json and verify.json), so that a snapshot planted or edited by anything
// that can write the backup dir is told apart from one the supervisor made
// (docs/security.md, "Backups").
//
// A record is sealed by an "hmac" field: HMAC-SHA256 with this key over a domain
// string, a newline and the record without that field in nlohmann::json's compact,
// key-sorted form. Any change to any field — known to this version or not — breaks it.
#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentron {

// <state_dir>/backup.key: where the supervisor's state goes, the key goes with it.
std::filesystem::path backup_key_file(const std::filesystem::path& state_dir);

inline constexpr const char* kNoBackupKeyCode = "no_backup_key";

class BackupKey {
 public:
  // Reads the key. Error code kNoBackupKeyCode if there is none; any other error says
  // why the file cannot serve as a key (not a regular file, not ours, readable by
  // others, not 64 hex digits).
  static Result<BackupKey> load(const std::filesystem::path& file);

  // Reads the key, first creating a new random 256-bit one (0600, its folder 0700) if
  // there is none; then `*created` (if given) is set. Two processes creating it at
  // once end up with the same key.
  static Result<BackupKey> load_or_create(const std::filesystem::path& file, bool* created = nullptr);

  // HMAC-SHA256(key, domain + "\n" + bytes) in hex.
  Result<std::string> mac(std::string_view domain, std::string_view bytes) const;

 private:
  explicit BackupKey(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

// The name of the field a sealed record carries its MAC in.
inline constexpr const char* kSealField = "hmac";

// REQUIRES: `record` is an object without kSealField. Adds kSealField.
Status seal(nlohmann::json& record, const BackupKey& key, std::string_view domain);

enum class SealState {
  sealed,    // its MAC is right: this key sealed it
  unsealed,  // no kSealField: written before records were sealed, or not by us
  broken,    // a MAC that does not match (edited, forged, another key) or cannot be checked
};

struct SealCheck {
  SealState state = SealState::broken;
  std::string problem;  // for people, unless sealed
  std::string mac;      // the record's MAC, if sealed
};

// `key` may be an error (no key yet, an unusable key file): then a record that
// carries a MAC is broken, with the key's error as the problem.
SealCheck check_seal(const nlohmann::json& record, const Result<BackupKey>& key, std::string_view domain);

}  // namespace agentron
