// A restart-from-fork request (docs/design.md §5): requests/<anything>.json, written to a
// temp name and renamed in. Only what to run comes from it — branch, commit and why;
// how to build it and where the fork is always come from the config.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace agentron {

struct RestartRequest {
  std::string id;  // the file's name without .json
  std::string branch;
  std::string commit;  // full or unique-prefix SHA (resolved when the release is built)
  std::string summary;
  std::string requested_by;
  std::string run_id;
  // "now", or "idle": once built, wait until no run executes ([handover] idle_query).
  std::string when = "now";
};

// Parses and validates a request file's text. The error says what is wrong: not JSON,
// an unknown key (with the known ones), a missing or empty branch/commit/summary, a
// branch git would not accept as a ref name, a commit that is not 7-40 hex digits.
Result<RestartRequest> parse_restart_request(const std::string& text, const std::string& id);

// git check-ref-format's rules for a branch name.
bool valid_branch_name(const std::string& name);

// "20261127T081500Z-3f9a2c": sortable by time, unique enough for one data dir.
std::string new_request_id();

// Writes the request as requests/<id>.json: temp file + fsync + rename, so the
// supervisor never reads half of it.
Status write_restart_request(const std::filesystem::path& requests_dir, const RestartRequest& request);

// A new request (fresh id) from its fields, checked exactly as the intake will check
// the file, then written into `requests_dir`: what `request-restart` and the control
// API's POST /v1/requests both do. Nothing is written when it is refused.
Result<RestartRequest> submit_restart_request(const std::filesystem::path& requests_dir, RestartRequest fields);

}  // namespace agentron
