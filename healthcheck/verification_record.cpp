#include "healthcheck/verification_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/atomic_file.h"
#include "common/json_depth.h"
#include "common/unique_fd.h"
#include "db/sqlite_db.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// docs/design.md §5 names two counts as top-level keys; other counts live in "counts".
const std::map<std::string, std::string> kContractKeys = {{"agent_count", "agents"}, {"run_count", "runs"}};

Error malformed(const std::string& what) {
  return Error{"malformed_record", "the verification record is malformed: " + what};
}

Status read_string(const json& j, const char* key, std::string& out) {
  if (!j.contains(key) || j[key].is_null()) return ok_status();
  if (!j[key].is_string()) return malformed(std::string("\"") + key + "\" must be a string");
  out = j[key].get<std::string>();
  return ok_status();
}

Status read_count(const json& value, const std::string& name, std::map<std::string, std::int64_t>& counts) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
    return malformed("count \"" + name + "\" must be a whole number ≥ 0");
  }
  counts[name] = value.get<std::int64_t>();
  return ok_status();
}

}  // namespace

json to_json(const VerificationRecord& r) {
  json j = {{"instance_id", r.instance_id},
            {"pid", r.pid},
            {"started_at", r.started_at},
            {"verified_at", r.verified_at},
            {"data_dir", r.data_dir},
            {"commit", r.commit},
            {"counts", r.counts},
            {"integrity", r.integrity},
            {"writer", r.writer}};
  for (const auto& [key, name] : kContractKeys) {
    if (auto it = r.counts.find(name); it != r.counts.end()) j[key] = it->second;
  }
  return j;
}

Result<VerificationRecord> parse_verification_record(const std::string& text) {
  if (json_nesting(text) > kMaxJsonNesting) return malformed("nested too deeply");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return malformed("not JSON");
  if (!j.is_object()) return malformed("not a JSON object");
  VerificationRecord r;
  for (auto [key, out] : {std::pair{"instance_id", &r.instance_id},
                          {"started_at", &r.started_at},
                          {"verified_at", &r.verified_at},
                          {"data_dir", &r.data_dir},
                          {"commit", &r.commit},
                          {"integrity", &r.integrity},
                          {"writer", &r.writer}}) {
    if (auto s = read_string(j, key, *out); !s) return s.error();
  }
  if (r.instance_id.empty()) return malformed("no \"instance_id\"");
  if (j.contains("pid")) {
    if (!j["pid"].is_number_integer()) return malformed("\"pid\" must be a number");
    r.pid = j["pid"].get<pid_t>();
  }
  if (j.contains("counts")) {
    if (!j["counts"].is_object()) return malformed("\"counts\" must be an object of numbers");
    for (const auto& [name, value] : j["counts"].items()) {
      if (auto s = read_count(value, name, r.counts); !s) return s.error();
    }
  }
  for (const auto& [key, name] : kContractKeys) {
    if (j.contains(key) && !r.counts.count(name)) {
      if (auto s = read_count(j[key], name, r.counts); !s) return s.error();
    }
  }
  if (r.counts.empty()) return malformed("no counts (agent_count, run_count or \"counts\")");
  return r;
}

// Through one no-follow descriptor: with [app] user the record lies in a folder the
// app's user owns, and the supervisor (root) must read only a regular file there.
Result<VerificationRecord> read_verification_record(const fs::path& path) {
  constexpr size_t kMaxBytes = 64 * 1024;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) return Error{kNoRecordCode, "no verification record at " + path.string()};
  if (!fd.valid())
    return errno_error("malformed_record", "cannot open the verification record " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(kMaxBytes))
    return Error{"malformed_record",
                 "the verification record " + path.string() + " is not a regular file of at most 64 KiB"};
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  auto record = parse_verification_record(text);
  if (!record) return Error{record.error().code, record.error().message + " (" + path.string() + ")"};
  return record;
}

Status write_verification_record(const fs::path& path, const VerificationRecord& record) {
  return write_file_atomically(path, to_json(record).dump(2) + "\n");
}

Status check_verification_record(const VerificationRecord& r, const std::string& instance_id,
                                 const fs::path& data_dir) {
  if (r.instance_id != instance_id) {
    return Error{"wrong_instance", "the verification record names instance " + r.instance_id + ", not " + instance_id};
  }
  std::error_code ec;
  auto normal = [](const fs::path& p) { return (p / "").lexically_normal(); };  // one trailing '/' either way
  bool same_dir =
      !r.data_dir.empty() && (normal(r.data_dir) == normal(data_dir) || fs::equivalent(r.data_dir, data_dir, ec));
  if (!same_dir) {
    return Error{"wrong_data_dir", "the verification record's data_dir is \"" + r.data_dir +
                                       "\", not the pinned data dir " + data_dir.string()};
  }
  if (r.integrity != kIntegrityOk) {
    return Error{"integrity_failed",
                 "the database integrity check failed: " +
                     (r.integrity.empty() ? std::string("no integrity in the record") : r.integrity)};
  }
  return ok_status();
}

std::string describe_counts(const std::map<std::string, std::int64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return out;
}

}  // namespace agentron
