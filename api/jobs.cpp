#include "api/jobs.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/private_dir.h"
#include "common/utc_time.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kTailLines = 20;
constexpr std::uintmax_t kTailBytes = 16 * 1024;

// Job ids are ours: "job-<UTC>-<n>". Anything else is never looked up on disk.
bool valid_job_id(const std::string& id) {
  if (id.size() < 5 || id.size() > 64 || id.rfind("job-", 0) != 0) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

std::string read_text(const fs::path& path, std::uintmax_t at_most) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::uintmax_t>(std::max<std::streamoff>(0, in.tellg()));
  in.seekg(static_cast<std::streamoff>(size > at_most ? size - at_most : 0));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string last_lines(const std::string& text, int lines) {
  size_t at = text.size();
  if (at > 0 && text[at - 1] == '\n') --at;
  for (int n = 0; n < lines && at != std::string::npos && at > 0; ++n) at = text.rfind('\n', at - 1);
  return at == std::string::npos || at == 0 ? text : text.substr(at + 1);
}

JobState state_named(const std::string& name) {
  if (name == "succeeded") return JobState::succeeded;
  if (name == "failed") return JobState::failed;
  if (name == "interrupted") return JobState::interrupted;
  return JobState::running;
}

std::optional<JobRecord> parse_record(const std::string& text) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
  JobRecord r;
  r.id = str("id");
  r.tool = str("tool");
  r.state = state_named(str("state"));
  r.started_at = str("started_at");
  r.ended_at = str("ended_at");
  r.exit = str("exit");
  r.result = j.contains("result") ? j["result"] : json();
  for (const auto& w : j.value("warnings", json::array())) {
    if (w.is_string()) r.warnings.push_back(w.get<std::string>());
  }
  if (r.id.empty()) return std::nullopt;
  return r;
}

json interrupted_result(const std::string& why) {
  return {{"code", "interrupted"}, {"message", why + "; run it again"}};
}

}  // namespace

const char* to_string(JobState state) {
  switch (state) {
    case JobState::running: return "running";
    case JobState::succeeded: return "succeeded";
    case JobState::failed: return "failed";
    case JobState::interrupted: return "interrupted";
  }
  return "running";
}

json JobRecord::to_json() const {
  json j = {{"job_id", id}, {"tool", tool}, {"state", to_string(state)}, {"started_at", started_at}};
  if (!ended_at.empty()) j["ended_at"] = ended_at;
  if (!exit.empty()) j["exit"] = exit;
  if (!result.is_null()) j["result"] = result;
  if (!warnings.empty()) j["warnings"] = warnings;
  j["log_tail"] = log_tail;
  return j;
}

JobRunner::JobRunner(Clock& clock, fs::path dir, JobStarter start)
    : clock_(clock), dir_(std::move(dir)), start_(std::move(start)) {}

JobRunner::~JobRunner() { alive_.reset(); }

void JobRunner::recover() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    auto record = parse_record(read_text(entry.path() / "job.json", 1 << 20));
    if (!record || record->state != JobState::running) continue;
    record->state = JobState::interrupted;
    record->ended_at = utc_now_iso8601();
    record->exit = "the supervisor stopped while it ran";
    record->result = interrupted_result(record->exit);
    save(*record);
  }
}

Result<std::string> JobRunner::start(const std::string& tool, const std::vector<std::string>& argv) {
  if (active_) {
    return Error{job_error::busy, "job " + active_->record.id + " (" + active_->record.tool +
                                      ") is running; one job at a time — wait for it (job_status) and try again"};
  }
  std::string id;
  std::error_code ec;
  do {
    id = "job-" + utc_now_compact() + "-" + std::to_string(++sequence_);
  } while (fs::exists(folder(id), ec));
  if (auto made = make_dir(folder(id), 0700); !made) return made.error();
  auto active = std::make_unique<Active>();
  active->record.id = id;
  active->record.tool = tool;
  active->record.started_at = utc_now_iso8601();
  save(active->record);
  std::weak_ptr<int> alive = alive_;
  auto pid = start_(argv, folder(id) / "answer.json", folder(id) / "output.log", [this, alive, id](ExitStatus s) {
    if (alive.lock()) finish(id, s);
  });
  if (!pid) {
    active->record.state = JobState::failed;
    active->record.ended_at = utc_now_iso8601();
    active->record.result = {{"code", job_error::start_failed}, {"message", pid.error().message}};
    save(active->record);
    return Error{job_error::start_failed, pid.error().message};
  }
  active->pid = *pid;
  active_ = std::move(active);
  return id;
}

void JobRunner::finish(const std::string& id, ExitStatus status) {
  if (!active_ || active_->record.id != id) return;
  std::unique_ptr<Active> done = std::move(active_);
  JobRecord& r = done->record;
  r.ended_at = utc_now_iso8601();
  r.exit = status.describe();
  auto answer = json::parse(read_text(folder(id) / "answer.json", 4 << 20), nullptr, /*allow_exceptions=*/false);
  bool ok = answer.is_object() && answer.value("ok", false) && answer.contains("data");
  if (answer.is_object() && answer.contains("warnings") && answer["warnings"].is_array()) {
    for (const auto& w : answer["warnings"]) {
      if (w.is_string()) r.warnings.push_back(w.get<std::string>());
    }
  }
  if (ok) {
    r.result = answer["data"];
  } else if (answer.is_object() && answer.contains("error") && answer["error"].is_object()) {
    r.result = answer["error"];
  } else {
    r.result = {{"code", "no_answer"}, {"message", "agentron-fork " + r.exit + " without an answer; see output.log"}};
  }
  r.state = ok && status.success() ? JobState::succeeded : JobState::failed;
  if (done->stopped && r.state == JobState::failed) {
    r.state = JobState::interrupted;
    r.result = interrupted_result("the supervisor stopped while it ran (agentron-fork " + r.exit + ")");
  }
  save(r);
  JobRecord finished = with_tail(r);
  for (auto& [n, waiter] : done->waiters) {
    waiter.timer.reset();
    waiter.then(finished);
  }
}

void JobRunner::await(const std::string& id, Duration wait, std::function<void(Result<JobRecord>)> then) {
  if (!active_ || active_->record.id != id || wait <= Duration(0)) return then(find(id));
  int n = next_waiter_++;
  std::weak_ptr<int> alive = alive_;
  Timer timer = clock_.start_timer(wait, [this, alive, id, n] {
    if (!alive.lock() || !active_ || active_->record.id != id) return;
    auto it = active_->waiters.find(n);
    if (it == active_->waiters.end()) return;
    auto then = std::move(it->second.then);
    active_->waiters.erase(it);
    then(with_tail(active_->record));
  });
  active_->waiters.emplace(n, Waiter{std::move(timer), std::move(then)});
}

Result<JobRecord> JobRunner::find(const std::string& id) const {
  if (active_ && active_->record.id == id) return with_tail(active_->record);
  if (!valid_job_id(id)) return Error{job_error::no_such_job, "no job '" + id.substr(0, 64) + "'"};
  auto record = parse_record(read_text(folder(id) / "job.json", 1 << 20));
  if (!record || record->id != id) return Error{job_error::no_such_job, "no job '" + id + "'"};
  return with_tail(*record);
}

std::optional<std::string> JobRunner::running() const {
  if (!active_) return std::nullopt;
  return active_->record.id;
}

void JobRunner::stop_running() {
  if (!active_) return;
  active_->stopped = true;
  if (active_->pid > 0) ::kill(-active_->pid, SIGTERM);
}

JobRecord JobRunner::with_tail(JobRecord record) const {
  record.log_tail = last_lines(read_text(folder(record.id) / "output.log", kTailBytes), kTailLines);
  if (record.log_tail.empty() && record.result.is_object() && record.result.contains("log_tail") &&
      record.result["log_tail"].is_string())
    record.log_tail = record.result["log_tail"].get<std::string>();
  return record;
}

void JobRunner::save(const JobRecord& record) const {
  json j = record.to_json();
  j.erase("log_tail");
  j["id"] = j["job_id"];
  j.erase("job_id");
  (void)write_file_atomically(folder(record.id) / "job.json", j.dump(2) + "\n", 0600);
}

}  // namespace agentron
