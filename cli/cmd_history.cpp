// `history`: the ledger as people read it (newest first) or as JSON for scripts.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "cli/terminal_text.h"
#include "healthcheck/verification_record.h"
#include "history/history.h"
#include "history/history_json.h"
#include "launcher/instance_spec.h"

namespace agentron {
namespace {

// One line of the table, from an event or a request.
struct Line {
  std::string when, what, branch, commit, outcome, counts, backup;
  std::string phases;  // a request's phases, printed on the line below
};

std::string short_commit(const std::string& c) { return c.substr(0, 12); }

// "2026-11-27T07:56:32.123Z" → "2026-11-27 07:56:32"
std::string readable_time(const std::string& at) {
  std::string t = at.substr(0, 19);
  if (t.size() > 10) t[10] = ' ';
  return t;
}

std::string counts_change(const HistoryRequest& r) {
  if (r.baseline_counts.empty() && r.verified_counts.empty()) return "";
  std::string out;
  for (const auto& [name, before] : r.baseline_counts) {
    auto after = r.verified_counts.find(name);
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(before) + " → " +
           (after == r.verified_counts.end() ? "?" : std::to_string(after->second));
  }
  return out.empty() ? describe_counts(r.verified_counts) : out;
}

Line line_of(const HistoryEvent& e) {
  Line l{readable_time(e.at), "", "", short_commit(e.commit), "", describe_counts(e.counts), "", ""};
  std::string instance = e.instance_id.empty() ? "" : " " + e.instance_id;
  std::string pid = e.pid ? " (pid " + std::to_string(e.pid) + ")" : "";
  const std::string& k = e.kind;
  if (k == event::supervisor_started)
    l.what = "supervisor started" + pid, l.outcome = e.detail;
  else if (k == event::supervisor_stopped)
    l.what = "supervisor stopped", l.outcome = "ok";
  else if (k == event::instance_started)
    l.what = "instance" + instance + " started" + pid, l.outcome = "ok";
  else if (k == event::instance_ready)
    l.what = "instance" + instance + " ready", l.outcome = "ok";
  else if (k == event::readiness_failed)
    l.what = "instance" + instance + " not ready", l.outcome = e.detail;
  else if (k == event::instance_exited)
    l.what = "instance" + instance + " exited", l.outcome = e.detail;
  else if (k == event::instance_stopped)
    l.what = "instance" + instance + " stopped", l.outcome = e.detail;
  else if (k == event::instance_failed)
    l.what = "app failed", l.outcome = e.detail;
  else if (k == event::verified)
    l.what = "instance" + instance + " verified", l.outcome = "ok, integrity " + e.integrity;
  else if (k == event::verification_failed)
    l.what = "instance" + instance + " verification", l.outcome = "FAILED: " + e.detail;
  else if (k == event::backup_restored)
    l.what = "backup restored", l.outcome = e.detail;
  else if (k == event::restore_failed)
    l.what = "backup restore", l.outcome = "FAILED: " + e.detail;
  else
    l.what = k, l.outcome = e.detail;
  return l;
}

Line line_of(const HistoryRequest& r, const std::vector<HistoryPhase>& phases) {
  std::string outcome = r.state + (r.reason.empty() ? "" : ": " + r.reason);
  std::string trail;
  for (const auto& p : phases) trail += (trail.empty() ? "" : " → ") + p.phase + " " + p.at.substr(11, 12);
  return Line{readable_time(r.received_at),
              "restart request " + r.id + (r.summary.empty() ? "" : ": " + r.summary) +
                  (r.run_id.empty() ? "" : " (run " + r.run_id + ")"),
              r.branch,
              short_commit(r.commit),
              outcome,
              counts_change(r),
              r.backup_path,
              trail};
}

std::vector<HistoryPhase> phases_of(History& history, const std::string& id) {
  auto phases = history.phases(id);
  return phases ? *phases : std::vector<HistoryPhase>{};
}

void print_table(std::vector<std::pair<std::string, Line>> lines) {
  std::sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Line> rows{{"WHEN", "WHAT", "BRANCH", "COMMIT", "OUTCOME  [COUNTS]  backup PATH", "", "", ""}};
  for (auto& [at, line] : lines) {
    for (std::string* field : {&line.what, &line.branch, &line.outcome, &line.backup, &line.phases}) {
      *field = printable(*field);
    }
    rows.push_back(std::move(line));
  }
  size_t w[4] = {0, 0, 0, 0};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.when.size());
    w[1] = std::max(w[1], std::min<size_t>(r.what.size(), 72));
    w[2] = std::max(w[2], r.branch.size());
    w[3] = std::max(w[3], r.commit.size());
  }
  for (const auto& r : rows) {
    std::string what = r.what.size() > 72 ? r.what.substr(0, 71) + "…" : r.what;
    std::printf("%-*s  %-*s  %-*s  %-*s  %s", static_cast<int>(w[0]), r.when.c_str(), static_cast<int>(w[1]),
                what.c_str(), static_cast<int>(w[2]), r.branch.c_str(), static_cast<int>(w[3]), r.commit.c_str(),
                r.outcome.c_str());
    if (!r.counts.empty()) std::printf("  [%s]", r.counts.c_str());
    if (!r.backup.empty()) std::printf("  backup %s", r.backup.c_str());
    std::printf("\n");
    if (!r.phases.empty()) std::printf("%*s  phases: %s\n", static_cast<int>(w[0]), "", r.phases.c_str());
  }
}

}  // namespace

int cmd_history(const StateFlags& where, bool json, int limit) {
  auto state = state_dir_from(where.config, where.data_dir, where.state_dir);
  if (!state) return kExitConfig;
  auto history = History::open_read_only(history_path(*state));
  auto events = history ? history->events(limit) : Result<std::vector<HistoryEvent>>(history.error());
  auto requests = history ? history->requests(limit) : Result<std::vector<HistoryRequest>>(history.error());
  if (!events || !requests) {
    std::fprintf(stderr, "%s\n", (!events ? events.error() : requests.error()).message.c_str());
    return kExitFailure;
  }
  if (json) {
    nlohmann::json out = {{"events", nlohmann::json::array()}, {"requests", nlohmann::json::array()}};
    for (const auto& e : *events) out["events"].push_back(json_of(e));
    for (const auto& r : *requests) out["requests"].push_back(json_of(r, phases_of(*history, r.id)));
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::vector<std::pair<std::string, Line>> lines;
  for (const auto& e : *events) lines.emplace_back(e.at, line_of(e));
  for (const auto& r : *requests) lines.emplace_back(r.received_at, line_of(r, phases_of(*history, r.id)));
  if (lines.size() > static_cast<size_t>(limit)) {
    std::sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    lines.resize(static_cast<size_t>(limit));
  }
  print_table(std::move(lines));
  return kExitOk;
}

}  // namespace agentron
