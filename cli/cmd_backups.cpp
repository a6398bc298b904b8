// agentron-supervisor backups list|create|verify|restore|prune
#include <csignal>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backup/backup_key.h"
#include "backup/catalog.h"
#include "backup/restore.h"
#include "backup/retention.h"
#include "backup/snapshot.h"
#include "backup/verify.h"
#include "cli/commands.h"
#include "cli/config_source.h"
#include "control/control_client.h"
#include "history/history.h"
#include "launcher/instance_spec.h"
#include "supervisor/data_dir_lock.h"
#include "supervisor/instance_record.h"
#include "supervisor/snapshot_options.h"
#include "supervisor/status_json.h"

namespace agentron {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int fail(const Error& e, bool as_json) {
  if (as_json)
    std::printf("%s\n", json({{"ok", false}, {"error", {{"code", e.code}, {"message", e.message}}}}).dump().c_str());
  else
    std::fprintf(stderr, "%s\n", e.message.c_str());
  return kExitFailure;
}

int succeed(const json& data, bool as_json) {
  if (as_json) std::printf("%s\n", json({{"ok", true}, {"data", data}}).dump(2).c_str());
  return kExitOk;
}

BackupPaths backup_paths(const Config& config) { return {config.backup.dir, backup_key_file(state_dir(config.app))}; }

std::string human_size(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

// What `list` shows in its VERIFIED column: the last verify of an authenticated
// snapshot; for any other, that it is not one (and never used: docs/operations.md).
std::string verified_column(const SnapshotInfo& s) {
  if (s.trust == Trust::unauthenticated) return "unauthenticated (older version?)";
  if (s.trust == Trust::untrusted) return "UNTRUSTED";
  return !s.verified ? "never" : *s.verified ? "ok" : "FAILED";
}

int list(const Config& config, bool as_json) {
  auto snapshots = list_snapshots(backup_paths(config));
  if (as_json) {
    json all = json::array();
    for (const auto& s : snapshots) all.push_back(snapshot_json(s));
    return succeed(all, true);
  }
  if (snapshots.empty()) {
    std::printf("no snapshots in %s (take one with `agentron-supervisor backups create`)\n",
                config.backup.dir.string().c_str());
    return kExitOk;
  }
  std::printf("%-44s %-21s %10s %10s %-9s\n", "NAME", "CREATED (UTC)", "SIZE", "COPIED", "VERIFIED");
  for (const auto& s : snapshots) {
    std::printf("%-44s %-21s %10s %10s %-9s\n", s.manifest.name.c_str(), s.manifest.created_at.c_str(),
                human_size(s.manifest.bytes).c_str(), human_size(s.manifest.copied_bytes).c_str(),
                verified_column(s).c_str());
  }
  for (const auto& s : snapshots) {
    if (s.trust == Trust::authenticated) continue;
    std::printf("%s is %s, never used as a base nor pruned: %s\n", s.manifest.name.c_str(), to_string(s.trust),
                s.distrust.front().c_str());
  }
  std::printf("%zu snapshot(s) in %s\n", snapshots.size(), config.backup.dir.string().c_str());
  return kExitOk;
}

int create(const Config& config, bool as_json) {
  auto options = snapshot_options(config, "manual");
  if (!options) return fail(options.error(), as_json);
  auto result = create_snapshot(*options);
  if (!result) return fail(result.error(), as_json);
  for (const auto& w : result->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& c : result->cleaned)
    std::fprintf(stderr, "removed %s, left by an interrupted snapshot\n", c.c_str());
  if (as_json) return succeed(created_snapshot_json(*result), true);
  const Manifest& m = result->manifest;
  std::printf("snapshot %s: %zu entries, %s (%s copied, %llu files hard-linked to the previous snapshot)\n",
              m.name.c_str(), m.entries.size(), human_size(m.bytes).c_str(), human_size(m.copied_bytes).c_str(),
              static_cast<unsigned long long>(m.linked_files));
  for (const auto& e : m.entries) {
    if (e.type == EntryType::sqlite) std::printf("  database %s: integrity %s\n", e.path.c_str(), e.integrity.c_str());
  }
  std::printf("%s\n", result->dir.string().c_str());
  return kExitOk;
}

const char* verdict(const SnapshotInfo& s, const VerifyReport& report) {
  if (s.trust == Trust::untrusted) return "UNTRUSTED";
  if (s.trust == Trust::unauthenticated) return "UNAUTHENTICATED";
  return report.ok() ? "ok" : "DAMAGED";
}

int verify(const Config& config, const std::string& name, bool as_json) {
  std::vector<SnapshotInfo> targets;
  if (name.empty()) {
    targets = list_snapshots(backup_paths(config));
  } else {
    auto one = find_snapshot(backup_paths(config), name);
    if (!one) return fail(one.error(), as_json);
    targets.push_back(std::move(one.value()));
  }
  json reports = json::array();
  bool all_ok = true;
  for (const auto& s : targets) {
    auto report = verify_snapshot(s, backup_paths(config));
    if (!report) return fail(report.error(), as_json);
    all_ok = all_ok && report->ok();
    reports.push_back({{"name", s.manifest.name},
                       {"ok", report->ok()},
                       {"problems", report->problems},
                       {"trust", to_string(s.trust)},
                       {"files", report->files},
                       {"bytes", report->bytes}});
    if (!as_json) {
      std::printf("%s: %s (%llu files, %s re-hashed)\n", s.manifest.name.c_str(), verdict(s, *report),
                  static_cast<unsigned long long>(report->files), human_size(report->bytes).c_str());
      for (const auto& p : report->problems) std::printf("  %s\n", p.c_str());
    }
  }
  if (as_json) std::printf("%s\n", json({{"ok", all_ok}, {"data", reports}}).dump(2).c_str());
  return all_ok ? kExitOk : kExitFailure;
}

// A snapshot prune neither counts nor deletes: not authenticated, so a forged one
// cannot push a real one out of the policy, and what prune cannot vouch for is the
// operator's to delete. Reported, so it is never silent.
json report_not_counted(const SnapshotInfo& s, bool as_json) {
  std::string reason = std::string("not counted: ") + to_string(s.trust) + " (" + s.distrust.front() +
                       "); prune never deletes it: check it with `backups verify " + s.manifest.name +
                       "` and remove it yourself if you do not want it";
  if (!as_json) std::printf("%-7s %-44s %s\n", "skip", s.manifest.name.c_str(), reason.c_str());
  return {{"name", s.manifest.name}, {"keep", true}, {"reason", reason},
          {"removed", false},        {"error", ""},  {"trust", to_string(s.trust)}};
}

int prune(const Config& config, bool dry_run, bool as_json) {
  auto lock = lock_backup_dir(config.backup.dir);
  if (!lock) return fail(lock.error(), as_json);
  std::vector<SnapshotInfo> snapshots, not_counted;
  for (auto& s : list_snapshots(backup_paths(config))) {
    (s.trust == Trust::authenticated ? snapshots : not_counted).push_back(std::move(s));
  }
  std::vector<RetentionCandidate> candidates;
  // The snapshot of a handover still in flight is its way back: never pruned.
  std::string pinned;
  if (auto history = History::open_read_only(history_path(state_dir(config.app)))) {
    if (auto r = history->unfinished_request(); r && *r) pinned = std::filesystem::path((*r)->backup_path).filename();
  }
  for (const auto& s : snapshots) {
    candidates.push_back({s.manifest.name, s.created, s.verified, !pinned.empty() && s.manifest.name == pinned});
  }
  RetentionPolicy policy{config.backup.keep_last, config.backup.keep_daily, config.backup.keep_weekly,
                         config.backup.keep_monthly};
  auto decisions = plan_retention(candidates, policy);
  json out = json::array();
  for (size_t i = 0; i < decisions.size(); ++i) {
    const auto& d = decisions[i];
    bool removed = false;
    std::string error;
    if (!d.keep && !dry_run) {
      // Only folders that carry this tool's manifest are ever listed, so only those go.
      std::error_code ec;
      fs::remove_all(snapshots[i].dir, ec);
      removed = !ec;
      if (ec) error = ec.message();
    }
    out.push_back({{"name", d.name},
                   {"keep", d.keep},
                   {"reason", d.reason},
                   {"removed", removed},
                   {"error", error},
                   {"trust", to_string(Trust::authenticated)}});
    if (!as_json) {
      std::printf("%-7s %-44s %s%s\n", d.keep ? "keep" : (dry_run ? "would" : "remove"), d.name.c_str(),
                  d.keep ? d.reason.c_str() : (dry_run ? "be removed" : ""),
                  error.empty() ? "" : (": " + error).c_str());
    }
  }
  for (const auto& s : not_counted) out.push_back(report_not_counted(s, as_json));
  return succeed(out, as_json);
}

// The restore's row in the ledger (after the swap, the restored data dir's: the
// ledger came along with .supervisor/). A ledger that cannot be written is a warning:
// the restore itself is done.
void record_restore(const Config& config, const std::string& name, const Result<RestoreResult>& result) {
  HistoryEvent e;
  e.kind = result ? event::backup_restored : event::restore_failed;
  if (result) {
    e.detail = name + "; the replaced data dir is kept at " + result->replaced.string();
    for (const auto& problem : result->restored.problems) e.detail += "; " + problem;
  } else {
    e.detail = name + ": " + result.error().message;
  }
  auto history = History::open(history_path(state_dir(config.app)));
  if (auto id = history ? history->record(e) : Result<std::int64_t>(history.error()); !id) {
    std::fprintf(stderr, "warning: the restore is not in the history: %s\n", id.error().message.c_str());
  }
}

int restore(const Config& config, const BackupArgs& args) {
  const std::string& name = args.name;
  bool as_json = args.json;
  auto snapshot = find_snapshot(backup_paths(config), name);
  if (!snapshot) return fail(snapshot.error(), as_json);
  // Refused before the app is stopped: restore_snapshot checks again.
  if (auto s = may_restore(*snapshot, args.allow_unauthenticated); !s) return fail(s.error(), as_json);
  fs::path socket = state_dir(config.app) / "control.sock";
  auto status = control_request(socket, StatusRequest{});
  bool supervised = status.ok() && status->value("ok", false);
  bool restart_after = false;
  std::optional<DataDirLock> data_dir_lock;
  if (supervised) {
    std::string state = (*status)["data"].value("state", "");
    bool app_up = state == "starting" || state == "ready" || state == "stopping" || state == "backoff";
    if (app_up && !args.stop) {
      return fail({"app_running", "the app is " + state + " under the supervisor on " + config.app.data_dir.string() +
                                      "; pass --stop to stop it for the restore and start it again after"},
                  as_json);
    }
    if (app_up) {
      int wait =
          static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config.app.stop_timeout).count()) + 15;
      auto stopped = control_request(socket, StopRequest{"restore of " + name}, wait);
      if (!stopped || !stopped->value("ok", false)) {
        return fail({"stop_failed", "could not stop the app for the restore; nothing was changed"}, as_json);
      }
      restart_after = true;
    }
  } else {
    // No supervisor: hold its lock so none starts mid-restore, and make sure no app
    // left behind by a killed supervisor is still writing.
    fs::create_directories(state_dir(config.app));
    auto lock = lock_data_dir(config.app);
    if (!lock) return fail(lock.error(), as_json);
    data_dir_lock.emplace(std::move(lock.value()));
    if (auto orphan = live_recorded_instance(state_dir(config.app))) {
      return fail({"app_running", "an app (pid " + std::to_string(orphan->pid) +
                                      ") started by an earlier supervisor still runs on this data dir; stop it first"},
                  as_json);
    }
  }
  auto lock = lock_backup_dir(config.backup.dir);
  if (!lock) return fail(lock.error(), as_json);
  auto result = restore_snapshot(*snapshot, config.app.data_dir, config.backup.dir, args.allow_unauthenticated);
  record_restore(config, name, result);
  if (restart_after) {
    auto started = control_request(socket, StartRequest{"after restore of " + name});
    if (!started || !started->value("ok", false)) std::fprintf(stderr, "warning: could not start the app again\n");
  }
  if (!result) return fail(result.error(), as_json);
  if (!result->restored.ok()) {
    return fail({"restore_unverified",
                 "restored, but the data dir differs from the snapshot: " + result->restored.problems.front() +
                     "; the replaced data is in " + result->replaced.string()},
                as_json);
  }
  if (!as_json) {
    std::printf("restored %s into %s (%llu files verified)%s\nthe data that was there is kept in %s\n", name.c_str(),
                config.app.data_dir.string().c_str(), static_cast<unsigned long long>(result->restored.files),
                restart_after ? "; the app was started again" : "", result->replaced.string().c_str());
  }
  json out = {{"at", utc_now_iso8601()},
              {"snapshot", name},
              {"ok", true},
              {"replaced", result->replaced.string()},
              {"problems", result->restored.problems}};
  return succeed(out, as_json);
}

}  // namespace

int cmd_backups(const std::string& verb, const BackupArgs& args) {
  std::optional<Config> config = load_or_report(find_config_source(args.config));
  if (!config) return kExitConfig;
  // Past a file-size limit writes fail with EFBIG, reported like any write error,
  // instead of the default SIGXFSZ killing us mid-snapshot.
  std::signal(SIGXFSZ, SIG_IGN);
  if (verb == "list") return list(*config, args.json);
  if (verb == "create") return create(*config, args.json);
  if (verb == "verify") return verify(*config, args.name, args.json);
  if (verb == "prune") return prune(*config, args.dry_run, args.json);
  if (verb == "restore") return restore(*config, args);
  return kExitFailure;
}

}  // namespace agentron
