// The verification record (docs/design.md §5): instances/<id>/verification.json, written by
// the app (`record` mode) or by the supervisor on its behalf (`probe` mode). It says
// which instance saw which data: the pinned data dir, the counts, the integrity.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace agentron {

struct VerificationRecord {
  std::string instance_id;
  pid_t pid = 0;
  std::string started_at;   // UTC ISO 8601; may be empty in an app's record
  std::string verified_at;  // UTC ISO 8601; may be empty in an app's record
  std::string data_dir;
  std::string commit;
  std::map<std::string, std::int64_t> counts;  // "agents", "runs", ... (agent_count → agents)
  std::string integrity;                       // "ok", or what the check found
  std::string writer;                          // "app" | "supervisor"
};

nlohmann::json to_json(const VerificationRecord& record);
// Errors: code "malformed_record" with what is wrong (not JSON, a key of the wrong
// type, no instance_id, no counts).
Result<VerificationRecord> parse_verification_record(const std::string& text);
// The error code of a record that is not there (yet).
inline constexpr const char* kNoRecordCode = "no_record";
// Reads and parses; a missing file is code kNoRecordCode.
Result<VerificationRecord> read_verification_record(const std::filesystem::path& path);
Status write_verification_record(const std::filesystem::path& path, const VerificationRecord& record);

// A record is accepted only if it names this instance, its data_dir is the pinned
// one and integrity is "ok"; the error says which is not so.
Status check_verification_record(const VerificationRecord& record, const std::string& instance_id,
                                 const std::filesystem::path& data_dir);

// "agents 12, runs 40"
std::string describe_counts(const std::map<std::string, std::int64_t>& counts);

}  // namespace agentron
