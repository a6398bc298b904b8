#include "supervisor/restart_request.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "common/atomic_file.h"
#include "common/json_depth.h"
#include "common/utc_time.h"

namespace agentron {

namespace {

const char* const kKeys[] = {"branch", "commit", "summary", "requested_by", "run_id", "when"};

Error bad(const std::string& what) { return Error{"bad_request", what}; }

}  // namespace

bool valid_branch_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name == "@" || name.front() == '-' || name.front() == '/' ||
      name.back() == '/' || name.back() == '.') {
    return false;
  }
  if (name.find("..") != std::string::npos || name.find("@{") != std::string::npos ||
      name.find("//") != std::string::npos) {
    return false;
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[' ||
        c == '\\') {
      return false;
    }
  }
  // No component may start with '.' or end with ".lock".
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    std::string part = name.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part.front() == '.' || (part.size() >= 5 && part.compare(part.size() - 5, 5, ".lock") == 0)) {
      return false;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

Result<RestartRequest> parse_restart_request(const std::string& text, const std::string& id) {
  if (json_nesting(text) > kMaxJsonNesting) return bad("nested too deeply");
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("not JSON");
  if (!j.is_object()) return bad("not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return bad("unknown key \"" + key + "\"; a request has branch, commit, summary, requested_by, run_id, when");
    }
    if (!value.is_string()) return bad("\"" + key + "\" must be a string");
  }
  RestartRequest r;
  r.id = id;
  r.branch = j.value("branch", "");
  r.commit = j.value("commit", "");
  r.summary = j.value("summary", "");
  r.requested_by = j.value("requested_by", "");
  r.run_id = j.value("run_id", "");
  r.when = j.value("when", "now");
  if (r.when != "now" && r.when != "idle") return bad("\"when\" must be \"now\" or \"idle\"");
  for (const auto& [key, value] : {std::pair{"branch", &r.branch}, {"commit", &r.commit}, {"summary", &r.summary}}) {
    if (value->empty()) return bad(std::string("missing \"") + key + "\"");
  }
  if (!valid_branch_name(r.branch)) return bad("\"" + r.branch + "\" is not a valid branch name");
  bool hex = std::all_of(r.commit.begin(), r.commit.end(),
                         [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!hex || r.commit.size() < 7 || r.commit.size() > 40) {
    return bad("commit \"" + r.commit + "\" is not a commit id (7 to 40 hex digits)");
  }
  return r;
}

std::string new_request_id() {
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
  return utc_now_compact() + "-" + suffix;
}

Status write_restart_request(const std::filesystem::path& requests_dir, const RestartRequest& r) {
  nlohmann::json j = {{"branch", r.branch}, {"commit", r.commit}, {"summary", r.summary}};
  if (!r.requested_by.empty()) j["requested_by"] = r.requested_by;
  if (!r.run_id.empty()) j["run_id"] = r.run_id;
  if (r.when != "now") j["when"] = r.when;
  // The temp name does not end in .json: the intake ignores it until the rename.
  return write_file_atomically(requests_dir / (r.id + ".json"), j.dump(2) + "\n", 0600);
}

Result<RestartRequest> submit_restart_request(const std::filesystem::path& requests_dir, RestartRequest fields) {
  nlohmann::json j = {{"branch", fields.branch}, {"commit", fields.commit}, {"summary", fields.summary}};
  if (!fields.requested_by.empty()) j["requested_by"] = fields.requested_by;
  if (!fields.run_id.empty()) j["run_id"] = fields.run_id;
  if (!fields.when.empty() && fields.when != "now") j["when"] = fields.when;
  auto request = parse_restart_request(j.dump(), new_request_id());
  if (!request) return request.error();
  if (auto written = write_restart_request(requests_dir, *request); !written) return written.error();
  return request;
}

}  // namespace agentron
