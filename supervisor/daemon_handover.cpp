// The restart-from-fork side of the daemon: request intake, approval, and the steps
// the Handover machine (supervisor/handover.h) acts through.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <fstream>
#include <sstream>

#include "backup/catalog.h"
#include "backup/restore.h"
#include "backup/snapshot.h"
#include "common/atomic_file.h"
#include "common/utc_time.h"
#include "db/sqlite_db.h"
#include "healthcheck/database_probe.h"
#include "healthcheck/verification_record.h"
#include "launcher/instance_spec.h"
#include "supervisor/daemon_impl.h"
#include "supervisor/instance_record.h"

namespace agentron {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024;
// A handover proves the new build sees all the data; without verification it cannot.
constexpr const char* kCannotVerify =
    "[health] verification = \"none\": a handover could not verify the new instance's data; set verification = "
    "\"probe\" (or \"record\") and reload";

fs::path current_release_file(const AppConfig& app) { return state_dir(app) / "current-release.json"; }

HistoryRequest history_row(const RestartRequest& r, const std::string& state, const std::string& reason) {
  HistoryRequest row;
  row.id = r.id;
  row.branch = r.branch;
  row.commit = r.commit;
  row.summary = r.summary;
  row.requested_by = r.requested_by;
  row.run_id = r.run_id;
  row.state = state;
  row.reason = reason;
  return row;
}

}  // namespace

Status Daemon::open_intake() {
  auto intake = RequestIntake::open(io_, state_dir(config_.app) / "requests",
                                    [this](const fs::path& file, Status trusted) { on_request_file(file, trusted); });
  if (!intake) return intake.error();
  intake_ = std::move(intake.value());
  return ok_status();
}

// `text`: the file's content when it was read (not for a file refused unread), so the
// row says what was refused.
void Daemon::reject_request(const fs::path& file, const std::string& id, const std::string& reason,
                            const std::string& text) {
  reject_request_file(file, reason);
  RestartRequest r;
  r.id = id;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    auto text_of = [&](const char* key) {
      return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
    };
    r.branch = text_of("branch");
    r.commit = text_of("commit");
    r.summary = text_of("summary");
    r.requested_by = text_of("requested_by");
    r.run_id = text_of("run_id");
  }
  HistoryRequest row = history_row(r, "rejected", reason);
  if (history_) {
    (void)history_->upsert_request(row);
    (void)history_->add_phase(id, "rejected", reason);
  }
  if (!handover_ || is_finished(handover_->phase())) last_request_ = row;
  spdlog::error("request {}: rejected — {}", id, reason);  // last: the files and the row are there
}

void Daemon::on_request_file(const fs::path& file, Status trusted) {
  std::string id = file.stem().string();
  if (!trusted) return reject_request(file, id, trusted.error().message);
  std::error_code ec;
  if (fs::file_size(file, ec) > kMaxRequestBytes) return reject_request(file, id, "larger than 64 KiB");
  std::ifstream in(file);
  std::stringstream read;
  read << in.rdbuf();
  std::string text = read.str();
  auto request = parse_restart_request(text, id);
  if (!request) return reject_request(file, id, request.error().message, text);
  if (handover_ && !is_finished(handover_->phase())) {
    return reject_request(file, id,
                          "another handover (" + handover_->request().id + ", " + to_string(handover_->phase()) +
                              ") is in flight; one at a time: send this again when it has finished",
                          text);
  }
  if (stopping_) return reject_request(file, id, "the supervisor is shutting down", text);
  if (config_.health.verification == VerificationKind::none) {
    return reject_request(file, id, kCannotVerify, text);
  }
  archive_request_file(file);
  spdlog::info("request {}: restart from {} @ {} ({})", id, request->branch, request->commit, request->summary);
  start_handover(*request, std::nullopt);
}

void Daemon::start_handover(RestartRequest request, std::optional<ReleaseInfo> existing) {
  probation_until_ = {};
  handover_ = std::make_unique<Handover>(
      clock_, static_cast<HandoverSteps&>(*this), config_.handover, std::move(request),
      [this](HandoverPhase outcome, const std::string& reason) { on_handover_finished(outcome, reason); });
  if (existing) handover_->use_existing_release(*existing);
  handover_->start();
}

// Back to the release before the current one, by the same verified path (nothing to build).
Result<std::string> Daemon::start_rollback(const std::string& why, const std::string& requested_by) {
  if (config_.health.verification == VerificationKind::none) return Error{"cannot_verify", kCannotVerify};
  if (handover_ && !is_finished(handover_->phase())) {
    return Error{"handover_in_flight", "handover " + handover_->request().id + " is in flight (" +
                                           to_string(handover_->phase()) + "); roll back when it has finished"};
  }
  std::ifstream in(current_release_file(config_.app));
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("previous") || !j["previous"].is_object() ||
      j["previous"].value("dir", "").empty()) {
    return Error{"no_previous_release", "no previous release to roll back to: no handover has switched releases yet"};
  }
  ReleaseInfo previous{j["previous"].value("commit", ""), fs::path(j["previous"].value("dir", ""))};
  std::error_code ec;
  if (!fs::is_directory(previous.dir, ec)) {
    return Error{"previous_release_gone", "the previous release " + previous.dir.string() + " is gone"};
  }
  RestartRequest r;
  r.id = new_request_id();
  r.commit = previous.commit;
  r.summary = why;
  r.requested_by = requested_by;
  spdlog::warn("request {}: rollback to {} ({})", r.id, previous.dir.string(), why);
  start_handover(r, previous);
  return r.id;
}

void Daemon::on_handover_finished(HandoverPhase outcome, const std::string& reason) {
  const RestartRequest& r = handover_->request();
  if (outcome == HandoverPhase::done) {
    spdlog::info("request {}: done; now serving {} from {}", r.id, current_->release.commit,
                 current_->release.dir.string());
    // Probation: a crash this soon after the switch is the new release's, not chance.
    if (config_.handover.probation > Duration(0)) probation_until_ = clock_.now() + config_.handover.probation;
  } else {
    if (outcome == HandoverPhase::rejected) {
      // Refused after all (denied, or a commit the fork does not have): the file goes
      // where every refused request goes, with its reason.
      fs::path requests = state_dir(config_.app) / "requests";
      fs::path processed = requests / "processed" / (r.id + ".json");
      std::error_code ec;
      if (fs::exists(processed, ec)) {
        fs::create_directories(requests / "rejected", ec);
        fs::rename(processed, requests / "rejected" / processed.filename(), ec);
        (void)write_file_atomically(requests / "rejected" / (r.id + ".reason"), reason + "\n", 0600);
      }
    }
    spdlog::error("request {}: {}: {}", r.id, to_string(outcome), reason);
  }
}

void Daemon::handle_approval(const nlohmann::json& request, ControlServer::Responder respond) {
  if (request["method"] == "rollback") {
    auto id = start_rollback(request.value("reason", "rollback requested"), request.value("requested_by", "operator"));
    if (!id) return respond(error_response(id.error().code, id.error().message));
    return respond(ok_response({{"id", *id}}));
  }
  std::string method = request["method"].get<std::string>();
  std::string id = request.value("id", "");
  if (!handover_ || handover_->request().id != id || handover_->phase() != HandoverPhase::awaiting_approval) {
    std::string waiting = handover_ && handover_->phase() == HandoverPhase::awaiting_approval
                              ? "; the request awaiting approval is " + handover_->request().id
                              : "; no request is awaiting approval";
    return respond(error_response("no_such_request", "request '" + id + "' is not awaiting approval" + waiting));
  }
  spdlog::info("control: {} request {}", method, id);
  if (method == "approve") {
    handover_->approve();
  } else {
    handover_->deny(request.value("reason", ""));
  }
  respond_with_status(std::move(respond));
}

nlohmann::json Daemon::handover_json() {
  if (!last_request_) return nullptr;
  const HistoryRequest& r = *last_request_;
  nlohmann::json phases = nlohmann::json::array();
  if (history_) {
    if (auto list = history_->phases(r.id)) {
      for (const auto& p : *list) phases.push_back({{"phase", p.phase}, {"at", p.at}, {"detail", p.detail}});
    }
  }
  return {{"id", r.id},
          {"state", r.state},
          {"branch", r.branch},
          {"commit", r.commit},
          {"summary", r.summary},
          {"reason", r.reason},
          {"backup", r.backup_path},
          {"counts_before", r.baseline_counts},
          {"counts_after", r.verified_counts},
          {"updated_at", r.updated_at},
          {"phases", phases}};
}

// --- the steps --------------------------------------------------------------

void Daemon::journal(HandoverPhase phase, const std::string& detail) {
  const Handover& h = *handover_;
  HistoryRequest row = history_row(h.request(), to_string(phase), "");
  if (is_finished(phase)) row.reason = detail;
  if (!h.release().commit.empty()) row.commit = h.release().commit;
  row.backup_path = h.backup();
  row.baseline_counts = h.baseline();
  row.verified_counts = h.verified();
  row.updated_at = utc_iso8601_ms(WallClock::now());
  if (history_) {
    if (auto s = history_->upsert_request(row); !s) spdlog::error("history: {}", s.error().message);
    if (auto s = history_->add_phase(row.id, to_string(phase), detail); !s)
      spdlog::error("history: {}", s.error().message);
  }
  last_request_ = row;
  spdlog::info("request {}: {}{}", row.id, to_string(phase), detail.empty() ? "" : " — " + detail);
  test_pause_.after_journaling(row.id, to_string(phase));
}

void Daemon::build_release(const RestartRequest& request, Then<ReleaseInfo> then) {
  fs::path dir = state_dir(config_.app) / "handovers" / request.id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::vector<std::string> argv{(executable_dir() / "agentron-fork").string()};
  if (!config_path_.empty()) argv.insert(argv.end(), {"--config", config_path_.string()});
  argv.insert(argv.end(), {"--json", "release", "--branch", request.branch, "--current-release",
                           current_->release.dir.string(), request.commit});
  fs::path out = dir / "release.json.out", err = dir / "release.log";
  auto pid = spawn_command(reaper_, argv, dir, out, err, [this, out, err, then](ExitStatus status) {
    fork_pid_ = 0;
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    if (!j.is_object()) {
      return then(Error{"build_failed",
                        "agentron-fork release " + status.describe() + " without an answer; see " + err.string()});
    }
    if (!j.value("ok", false)) {
      const auto& e = j["error"];
      return then(Error{e.value("code", "build_failed"), e.value("message", "agentron-fork release failed")});
    }
    const auto& d = j["data"];
    then(ReleaseInfo{d.value("commit", ""), fs::path(d.value("dir", ""))});
  });
  if (!pid) return then(pid.error());
  fork_pid_ = *pid;
}

void Daemon::take_snapshot(Then<std::string> then) {
  SnapshotOptions options{config_.app.data_dir, config_.backup.dir, config_.backup.exclude, "pre-restart",
                          handover_->request().id};
  std::weak_ptr<int> alive = alive_;
  worker_.post([this, alive, options, then] {
    auto result = create_snapshot(options);  // seconds on a large data dir: off the loop
    asio::post(io_, [alive, result = std::move(result), then] {
      if (!alive.lock()) return;
      if (!result) return then(result.error());
      then(result->dir.string());
    });
  });
}

void Daemon::count_live(Then<Counts> then) {
  auto database = config_.app.data_dir / config_.health.database;
  auto counts = config_.health.counts;
  auto busy = config_.health.busy_timeout;
  std::weak_ptr<int> alive = alive_;
  worker_.post([this, alive, database, counts, busy, then] {
    std::error_code ec;
    Result<Counts> result = Counts{};
    if (!counts.empty() && fs::exists(database, ec)) {
      auto probe = probe_database(database, counts, busy, /*check_integrity=*/false);
      result = probe ? Result<Counts>(probe->counts) : Result<Counts>(probe.error());
    }
    asio::post(io_, [alive, result = std::move(result), then] {
      if (alive.lock()) then(result);
    });
  });
}

void Daemon::start_new(const ReleaseInfo& release, std::function<void(const fs::path&)> started,
                       Then<NewInstance> then) {
  // Overlap: the old instance keeps its port while the new one starts on the other.
  int port = config_.proxy.configured ? free_instance_port()
             : config_.handover.strategy == HandoverStrategy::overlap && current_->port == config_.app.port
                 ? config_.handover.alternate_port
                 : config_.app.port;
  RestartConfig never;
  never.policy = RestartPolicyKind::never;  // a handover's new instance gets one chance
  candidate_ = make_slot("candidate", release, port, never);
  candidate_started_ = std::move(started);
  candidate_then_ = std::move(then);
  candidate_->controller->start();
}

void Daemon::on_candidate_change(Slot& slot, const InstanceStatus& s) {
  record_instance(slot, s);
  std::string request_id = handover_ ? handover_->request().id : "";
  // By value: it is also used from the verification's callback, after this returns.
  auto row = [this, slot_ptr = &slot, id = s.instance_id, pid = s.pid, request_id](const char* kind,
                                                                                   std::string detail) {
    HistoryEvent e = release_event(kind, slot_ptr, id, pid, std::move(detail));
    e.request_id = request_id;
    return e;
  };
  switch (s.state) {
    case InstanceState::starting:
      note(row(event::instance_started, "new instance, port " + std::to_string(slot.port)));
      spdlog::info("new instance {} started, pid {}, port {} (release {})", s.instance_id, s.pid, slot.port,
                   slot.release.dir.string());
      if (candidate_started_) candidate_started_(instance_paths(config_.app, s.instance_id).dir);
      return;
    case InstanceState::ready: {
      note(row(event::instance_ready, "new instance"));
      spdlog::info("new instance {} ready", s.instance_id);
      Config config = config_;
      config.app.port = slot.port;
      VerifyTarget target{s.instance_id, s.pid, utc_iso8601(s.started_at), slot.release.commit,
                          instance_paths(config_.app, s.instance_id).verification_file()};
      candidate_verifier_.verify(config, target, [this, row](VerificationResult r) {
        HistoryEvent e = row(r.ok ? event::verified : event::verification_failed,
                             r.ok ? "new instance, writer " + r.record.writer : r.reason);
        e.counts = r.record.counts;
        e.integrity = r.record.integrity;
        note(std::move(e));
        auto then = std::move(candidate_then_);
        candidate_then_ = nullptr;
        if (!then) return;
        // A record that says the database is damaged is the handover's to judge (and,
        // with stop-first, to restore from); any other failure just fails it.
        bool damaged = !r.record.integrity.empty() && r.record.integrity != "ok";
        if (!r.ok && !damaged) return then(Error{"not_verified", "the new instance was not verified: " + r.reason});
        then(NewInstance{r.instance_id, r.record.counts, r.record.integrity,
                         instance_paths(config_.app, r.instance_id).dir});
      });
      return;
    }
    default: break;
  }
  if (!is_alive(s.state) || s.state == InstanceState::stopping) {
    if (!is_alive(s.state)) note(row(event::instance_stopped, "new instance: " + s.reason));
    candidate_verifier_.cancel();
    auto then = std::move(candidate_then_);
    candidate_then_ = nullptr;
    if (then) then(Error{"new_instance_gone", "the new instance " + s.instance_id + " " + s.reason});
  }
}

void Daemon::stop_new(std::function<void()> done) {
  if (!candidate_) return done();
  candidate_then_ = nullptr;
  candidate_verifier_.cancel();
  candidate_->controller->stop([this, done] {
    post_destroy(std::move(candidate_));
    done();
  });
}

void Daemon::stop_old(std::function<void()> done) {
  Slot* old = retiring_ ? retiring_.get() : current_.get();
  auto stop = [this, old, done] {
    old->controller->stop([this, done] {
      if (retiring_) post_destroy(std::move(retiring_));
      done();
    });
  };
  // With the front, connections already open to the old instance finish first.
  if (front_ && retiring_) return front_->drain(old->port, config_.proxy.drain_timeout, stop);
  stop();
}

void Daemon::start_old(std::function<void()> done) {
  current_->controller->start();
  done();
}

void Daemon::restore_lost_rows(const std::string& snapshot, Then<std::string> then) {
  fs::path live = config_.app.data_dir / config_.health.database;
  fs::path copy = fs::path(snapshot) / config_.health.database;
  std::weak_ptr<int> alive = alive_;
  worker_.post([this, alive, live, copy, snapshot, then] {
    auto restored = restore_missing_rows(live, copy, 10000);
    asio::post(io_, [alive, restored = std::move(restored), snapshot, then]() mutable {
      if (!alive.lock()) return;
      if (!restored) return then(restored.error());
      if (restored->empty()) return then(std::string("no row was missing"));
      std::int64_t total = 0;
      for (const auto& [table, n] : *restored) total += n;
      then("put back " + std::to_string(total) + " lost rows (" + describe_counts(*restored) + ") from " + snapshot);
    });
  });
}

void Daemon::restore_snapshot(const std::string& snapshot, Then<std::string> then) {
  std::weak_ptr<int> alive = alive_;
  // By value: the worker must not read config_, which a reload may replace meanwhile.
  worker_.post([this, alive, snapshot, then, data_dir = config_.app.data_dir, backups = config_.backup.dir] {
    Result<std::string> outcome = std::string();
    auto lock = lock_backup_dir(backups);
    auto found =
        lock ? find_snapshot(backups, fs::path(snapshot).filename().string()) : Result<SnapshotInfo>(lock.error());
    auto restored =
        found ? agentron::restore_snapshot(*found, data_dir, backups) : Result<RestoreResult>(found.error());
    if (!restored)
      outcome = restored.error();
    else
      outcome = "restored " + snapshot + " (the damaged data dir is kept at " + restored->replaced.string() + ")";
    asio::post(io_, [alive, outcome = std::move(outcome), then] {
      if (alive.lock()) then(outcome);
    });
  });
}

Status Daemon::make_current(const ReleaseInfo& release) {
  if (!candidate_) return Error{"no_new_instance", "the new instance is gone"};
  if (auto s = persist_current_release(release, current_->release); !s) return s;
  fs::path state = state_dir(config_.app);
  // Roles and their records move together: a SIGKILL from here on finds the new
  // instance as current and the old one as retiring.
  retiring_ = std::move(current_);
  retiring_->role = "retiring";
  current_ = std::move(candidate_);
  current_->role = "current";
  current_->controller->set_restart_config(config_.restart);
  for (Slot* slot : {current_.get(), retiring_.get()}) {
    InstanceStatus st = slot->controller->status();
    if (auto ticks = st.pid ? process_start_ticks(st.pid) : std::nullopt) {
      write_instance_record(state, {st.instance_id, st.pid, *ticks}, slot->role);
    }
  }
  remove_instance_record(state, "candidate");
  InstanceStatus now = current_->controller->status();
  if (front_) front_->set_active(current_->port, now.instance_id);  // new connections: the new instance
  last_verification_ = nullptr;
  current_->last_state = now.state;
  spdlog::info("switched: instance {} (release {}, port {}) is current", now.instance_id, release.commit,
               current_->port);
  return ok_status();
}

// An earlier supervisor was SIGKILLed: its instances kept running (their own
// sessions) and a handover may be half done. The records say which instance had
// which role; the journal says how far the handover got. Exactly one instance keeps
// serving: the current one (the new one if the switch had happened — then the
// retiring record exists), any other is stopped, and the request is finished.
void Daemon::reconcile() {
  fs::path state = state_dir(config_.app);
  auto current = live_recorded_instance(state, "current");
  auto candidate = live_recorded_instance(state, "candidate");
  auto retiring = live_recorded_instance(state, "retiring");
  auto unfinished = history_->unfinished_request();
  std::optional<HistoryRequest> request;
  if (unfinished && *unfinished) request = **unfinished;
  // The switch is the release file: make_current persists it before it rewrites any
  // record, so a kill between those steps still counts as switched.
  std::error_code ec;
  bool switched = false;
  if (request && !request->commit.empty()) {
    std::ifstream in(current_release_file(config_.app));
    auto j = nlohmann::json::parse(in, nullptr, false);
    switched = j.is_object() && j.value("commit", "") == request->commit;
  }
  for (const char* role : {"current", "candidate", "retiring"}) {
    bool live = (std::string(role) == "current" && current) || (std::string(role) == "candidate" && candidate) ||
                (std::string(role) == "retiring" && retiring);
    if (!live) remove_instance_record(state, role);  // its process is gone
  }
  // Which one serves: after a switch the new instance (its record may still say
  // candidate), else the current one. Every other live instance is stopped.
  std::optional<InstanceRecord> serving = switched ? (candidate ? candidate : current) : current;
  if (switched && serving && retiring && serving->pid == retiring->pid) serving = current;
  std::vector<std::string> done;
  std::vector<pid_t> handled;
  auto leave = [&](const std::optional<InstanceRecord>& r, const char* role, const char* what) {
    if (!r || (serving && r->pid == serving->pid)) return;
    if (std::find(handled.begin(), handled.end(), r->pid) != handled.end()) return;
    handled.push_back(r->pid);
    auto slot = make_slot(role, ReleaseInfo{}, config_.app.port, RestartConfig{});
    slot->controller->set_restart_config([] {
      RestartConfig never;
      never.policy = RestartPolicyKind::never;
      return never;
    }());
    leftovers_.push_back({std::move(slot), *r});
    done.push_back(std::string("stopping the ") + what + " instance " + r->instance_id + " (pid " +
                   std::to_string(r->pid) + ")");
  };
  leave(candidate, "candidate", switched ? "new" : "unverified new");
  leave(retiring, "retiring", "old");
  leave(current, "retiring", "old");
  std::vector<pid_t> recorded;
  for (const auto* r : {&current, &candidate, &retiring}) {
    if (*r) recorded.push_back((*r)->pid);
  }
  for (const auto& orphan : unrecorded_instances(config_.app.data_dir, recorded)) {
    // Started, then the supervisor died before recording it: never serving, stopped.
    leave(orphan, "orphan", "unrecorded");
  }
  if (serving) {
    adopt_current_ = *serving;
    write_instance_record(state, *serving, "current");
    if (candidate && candidate->pid == serving->pid) remove_instance_record(state, "candidate");
    done.push_back("kept instance " + serving->instance_id + " (pid " + std::to_string(serving->pid) + ") serving");
  }
  std::string summary;
  for (const auto& d : done) summary += (summary.empty() ? "" : "; ") + d;
  if (!summary.empty()) spdlog::warn("an earlier supervisor left instances running: {}", summary);

  if (!request) return;
  HistoryRequest r = *request;
  std::string phase = r.state;
  if (!switched) {
    // The switch never completed: the release file goes back with it.
    std::ifstream in(current_release_file(config_.app));
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j.value("commit", "") == r.commit && j.contains("previous") && j["previous"].is_object()) {
      ReleaseInfo previous{j["previous"].value("commit", ""), fs::path(j["previous"].value("dir", ""))};
      if (previous.dir.empty()) {
        fs::remove(current_release_file(config_.app), ec);
      } else {
        (void)persist_current_release(previous, previous);
      }
    }
  }
  r.state = switched ? "done" : "rolled_back";
  r.reason = "the supervisor was killed during " + phase +
             "; at restart: " + (summary.empty() ? std::string("no instance of it was running") : summary);
  r.updated_at = utc_iso8601_ms(WallClock::now());
  (void)history_->upsert_request(r);
  (void)history_->add_phase(r.id, r.state, r.reason);
  last_request_ = r;
  spdlog::warn("request {}: {} — {}", r.id, r.state, r.reason);
}

void Daemon::stop_leftovers() {
  for (auto& leftover : leftovers_) {
    Slot* slot = leftover.slot.get();
    if (!slot->controller->adopt(leftover.record.pid, leftover.record.instance_id)) continue;
    slot->controller->stop([this, slot] {
      auto it =
          std::find_if(leftovers_.begin(), leftovers_.end(), [slot](const auto& l) { return l.slot.get() == slot; });
      if (it == leftovers_.end()) return;
      auto owned = std::move(it->slot);
      leftovers_.erase(it);
      post_destroy(std::move(owned));
    });
  }
}

Status Daemon::persist_current_release(const ReleaseInfo& release, const ReleaseInfo& previous) {
  nlohmann::json j = {{"dir", release.dir.string()},
                      {"commit", release.commit},
                      {"previous", {{"dir", previous.dir.string()}, {"commit", previous.commit}}},
                      {"since", utc_now_iso8601()}};
  return write_file_atomically(current_release_file(config_.app), j.dump(2) + "\n", 0600);
}

// The release a (re)started supervisor runs: the last one a handover made current,
// if it is still there; else [app] release.
ReleaseInfo Daemon::load_current_release() {
  ReleaseInfo configured{release_commit(config_.app.release), config_.app.release};
  std::ifstream in(current_release_file(config_.app));
  if (!in) return configured;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("dir") || !j["dir"].is_string()) return configured;
  fs::path dir = j["dir"].get<std::string>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    spdlog::error("the current release {} (from {}) is gone; starting [app] release {}", dir.string(),
                  current_release_file(config_.app).string(), config_.app.release.string());
    return configured;
  }
  return ReleaseInfo{j.value("commit", ""), dir};
}

}  // namespace agentron
