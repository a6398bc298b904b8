#include "supervisor/handover_driver.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <fstream>
#include <sstream>

#include "backup/backup_key.h"
#include "backup/catalog.h"
#include "backup/restore.h"
#include "backup/snapshot.h"
#include "common/atomic_file.h"
#include "common/utc_time.h"
#include "control/protocol.h"
#include "db/sqlite_db.h"
#include "fork/fork_answer.h"
#include "fork/fork_errors.h"
#include "healthcheck/database_probe.h"
#include "healthcheck/verification_record.h"
#include "launcher/instance_spec.h"
#include "launcher/run_as.h"
#include "supervisor/instance_record.h"
#include "supervisor/reconcile_plan.h"
#include "supervisor/snapshot_options.h"

namespace agentron {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// A handover proves the new build sees all the data; without verification it cannot.
constexpr const char* kCannotVerify =
    "[health] verification = \"none\": a handover could not verify the new instance's data; set verification = "
    "\"probe\" (or \"record\") and reload";

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

HandoverDriver::HandoverDriver(DriverContext context)
    : c_(std::move(context)), candidate_verifier_(c_.io, c_.clock), probation_(c_.clock) {}

HandoverDriver::~HandoverDriver() { alive_.reset(); }

Status HandoverDriver::open_intake() {
  fs::path state = state_dir(c_.config.app);
  IntakeFolders folders{state / "requests", state / "request-archive", std::nullopt};
  if (!c_.config.app.user.empty()) {  // the one folder the app's user may write (docs/security.md)
    auto who = resolve_run_as(c_.config.app.user, c_.config.app.group);
    if (!who) return who.error();
    folders.writer = who->uid;
  }
  auto intake = RequestIntake::open(c_.io, std::move(folders), [this](const fs::path& file, Result<std::string> text) {
    on_request_file(file, std::move(text));
  });
  if (!intake) return intake.error();
  intake_ = std::move(intake.value());
  return ok_status();
}

void HandoverDriver::rescan_requests() {
  if (intake_) intake_->rescan();
}

void HandoverDriver::when_taken(const std::string& id, std::function<void(Result<std::string>)> then) {
  taken_waiters_[id] = std::move(then);
}

void HandoverDriver::tell_taken(const std::string& id, Result<std::string> outcome) {
  auto it = taken_waiters_.find(id);
  if (it == taken_waiters_.end()) return;
  auto then = std::move(it->second);
  taken_waiters_.erase(it);
  then(std::move(outcome));
}

const fs::path* HandoverDriver::requests_dir() const { return intake_ ? &intake_->dir() : nullptr; }

bool HandoverDriver::in_flight() const { return handover_ && !is_finished(handover_->phase()); }

Status HandoverDriver::can_take_request() const {
  if (!in_flight()) return ok_status();
  return Error{control_error::handover_in_flight, "handover " + handover_->request().id + " is in flight (" +
                                                      to_string(handover_->phase()) +
                                                      "); ask again when it has finished"};
}

Handover* HandoverDriver::awaiting_approval(const std::string& id, Status& error) {
  bool awaiting = handover_ && handover_->phase() == HandoverPhase::awaiting_approval;
  if (awaiting && handover_->request().id == id) return handover_.get();
  std::string waiting =
      awaiting ? "; the request awaiting approval is " + handover_->request().id : "; no request is awaiting approval";
  error = Error{control_error::no_such_request, "request '" + id + "' is not awaiting approval" + waiting};
  return nullptr;
}

Status HandoverDriver::approve(const std::string& id) {
  Status error = ok_status();
  Handover* handover = awaiting_approval(id, error);
  if (!handover) return error;
  spdlog::info("control: approve request {}", id);
  handover->approve();
  return ok_status();
}

Status HandoverDriver::deny(const std::string& id, const std::string& reason) {
  Status error = ok_status();
  Handover* handover = awaiting_approval(id, error);
  if (!handover) return error;
  spdlog::info("control: deny request {}", id);
  handover->deny(reason);
  return ok_status();
}

void HandoverDriver::on_current_crashed(const InstanceStatus& s) {
  if (stopping_ || !probation_.crash_switches_back()) return;
  std::string why = "probation: the new release's instance " + s.reason + " within " +
                    format_duration(probation_.length()) + " of the switch; switching back";
  if (auto id = start_rollback(why, "supervisor (probation)"); !id) {
    spdlog::error("{}, but cannot: {}", why, id.error().message);
  }
}

void HandoverDriver::shut_down() {
  stopping_ = true;
  if (fork_pid_ > 0) ::kill(-fork_pid_, SIGTERM);
  if (handover_) handover_->abandon(std::string("the supervisor was stopped during ") + to_string(handover_->phase()));
}

// `text`: the file's content when it was read (not for a file refused unread), so the
// row says what was refused.
void HandoverDriver::reject_request(const fs::path& file, const std::string& id, const std::string& reason,
                                    const std::string& text, const char* code) {
  intake_->reject(file, reason, text);
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
  const char* rejected = to_string(HandoverPhase::rejected);
  HistoryRequest row = history_row(r, rejected, reason);
  (void)c_.history.upsert_request(row);
  (void)c_.history.add_phase(id, rejected, reason);
  if (!handover_ || is_finished(handover_->phase())) last_request_ = row;
  spdlog::error("request {}: rejected — {}", id, reason);  // last: the files and the row are there
  tell_taken(id, Error{code, reason});
}

void HandoverDriver::on_request_file(const fs::path& file, Result<std::string> read) {
  std::string id = file.stem().string();
  // An id is a request's name in the ledger: one used before is never reused, or the
  // writer could rewrite someone else's request (the red team's finding 4). Refused
  // without touching that row.
  auto phases = c_.history.phases(id);
  if (intake_->seen(id) || !phases || !phases->empty()) {
    std::string why = "request id " + id + " was used before; write the request under a new name";
    intake_->reject(file, why, read ? *read : "");
    spdlog::error("request file {}: refused: {}", file.filename().string(), why);
    return tell_taken(id, Error{"request_rejected", why});
  }
  if (!read) return reject_request(file, id, read.error().message);
  const std::string& text = *read;

  auto request = parse_restart_request(text, id);
  if (!request) return reject_request(file, id, request.error().message, text);
  if (in_flight()) {
    return reject_request(file, id,
                          "another handover (" + handover_->request().id + ", " + to_string(handover_->phase()) +
                              ") is in flight; one at a time: send this again when it has finished",
                          text, control_error::handover_in_flight);
  }
  if (stopping_) {
    return reject_request(file, id, "the supervisor is shutting down", text, control_error::shutting_down);
  }
  if (c_.config.health.verification == VerificationKind::none) {
    return reject_request(file, id, kCannotVerify, text, control_error::cannot_verify);
  }
  intake_->archive(file, text);
  spdlog::info("request {}: restart from {} @ {} ({})", id, request->branch, request->commit, request->summary);
  start_handover(*request, std::nullopt);
  tell_taken(id, std::string(to_string(handover_->phase())));
}

void HandoverDriver::start_handover(RestartRequest request, std::optional<ReleaseInfo> existing) {
  probation_.end();
  handover_ = std::make_unique<Handover>(
      c_.clock, static_cast<HandoverSteps&>(*this), c_.config.handover, std::move(request),
      [this](HandoverPhase outcome, const std::string& reason) { on_handover_finished(outcome, reason); });
  if (existing) handover_->use_existing_release(*existing);
  handover_->start();
}

// Back to the release before the current one, by the same verified path (nothing to build).
Result<std::string> HandoverDriver::start_rollback(const std::string& why, const std::string& requested_by) {
  if (c_.config.health.verification == VerificationKind::none)
    return Error{control_error::cannot_verify, kCannotVerify};
  if (in_flight()) {
    return Error{control_error::handover_in_flight, "handover " + handover_->request().id + " is in flight (" +
                                                        to_string(handover_->phase()) +
                                                        "); roll back when it has finished"};
  }
  auto current = release_store().read();
  if (!current || current->previous.dir.empty()) {
    return Error{control_error::no_previous_release,
                 "no previous release to roll back to: no handover has switched releases yet"};
  }
  ReleaseInfo previous = current->previous;
  std::error_code ec;
  if (!fs::is_directory(previous.dir, ec)) {
    return Error{control_error::previous_release_gone, "the previous release " + previous.dir.string() + " is gone"};
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

void HandoverDriver::on_handover_finished(HandoverPhase outcome, const std::string& reason) {
  const RestartRequest& r = handover_->request();
  if (outcome == HandoverPhase::done) {
    spdlog::info("request {}: done; now serving {} from {}", r.id, c_.slots.current().release.commit,
                 c_.slots.current().release.dir.string());
    // Probation: a crash this soon after the switch is the new release's, not chance.
    probation_.start(c_.config.handover.probation);
  } else {
    if (outcome == HandoverPhase::rejected) {
      // Refused after all (denied, or a commit the fork does not have): the file goes
      // where every refused request goes, with its reason.
      if (intake_) intake_->reject_archived(r.id, reason);
    }
    spdlog::error("request {}: {}: {}", r.id, to_string(outcome), reason);
  }
}

nlohmann::json HandoverDriver::handover_json() const {
  if (!last_request_) return nullptr;
  const HistoryRequest& r = *last_request_;
  nlohmann::json phases = nlohmann::json::array();
  if (auto list = c_.history.phases(r.id)) {
    for (const auto& p : *list) phases.push_back({{"phase", p.phase}, {"at", p.at}, {"detail", p.detail}});
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

void HandoverDriver::journal(HandoverPhase phase, const std::string& detail) {
  const Handover& h = *handover_;
  HistoryRequest row = history_row(h.request(), to_string(phase), "");
  if (is_finished(phase)) row.reason = detail;
  if (!h.release().commit.empty()) row.commit = h.release().commit;
  row.backup_path = h.backup();
  row.baseline_counts = h.baseline();
  row.verified_counts = h.verified();
  row.updated_at = utc_iso8601_ms(WallClock::now());
  if (auto s = c_.history.upsert_request(row); !s) spdlog::error("history: {}", s.error().message);
  if (auto s = c_.history.add_phase(row.id, to_string(phase), detail); !s)
    spdlog::error("history: {}", s.error().message);
  last_request_ = row;
  spdlog::info("request {}: {}{}", row.id, to_string(phase), detail.empty() ? "" : " — " + detail);
  test_pause_.after_journaling(row.id, to_string(phase));
}

void HandoverDriver::build_release(const RestartRequest& request, Then<ReleaseInfo> then) {
  fs::path dir = state_dir(c_.config.app) / "handovers" / request.id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::vector<std::string> argv{(executable_dir() / "agentron-fork").string()};
  if (!c_.config_path.empty()) argv.insert(argv.end(), {"--config", c_.config_path.string()});
  argv.insert(argv.end(), {"--json", "release", "--branch", request.branch, "--current-release",
                           c_.slots.current().release.dir.string(), request.commit});
  fs::path out = dir / "release.json.out", err = dir / "release.log";
  auto pid = spawn_command(c_.reaper, argv, dir, out, err, [this, out, err, then](ExitStatus status) {
    fork_pid_ = 0;
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    auto answer = read_fork_answer(text.str(), "no_answer");
    if (!answer && answer.error().code == "no_answer") {
      return then(Error{fork_error::build_failed, "agentron-fork release " + status.describe() + ": " +
                                                      answer.error().message + "; see " + err.string()});
    }
    if (!answer) return then(answer.error());
    then(ReleaseInfo{answer_string(*answer, "commit"), fs::path(answer_string(*answer, "dir"))});
  });
  if (!pid) return then(pid.error());
  fork_pid_ = *pid;
}

void HandoverDriver::take_snapshot(Then<std::string> then) {
  std::weak_ptr<int> alive = alive_;
  c_.worker.post([this, alive, config = c_.config, id = handover_->request().id, then] {
    auto options = snapshot_options(config, "pre-restart", id);
    // Seconds on a large data dir: off the loop.
    auto result = options ? create_snapshot(*options) : Result<SnapshotResult>(options.error());
    asio::post(c_.io, [alive, result = std::move(result), then] {
      if (!alive.lock()) return;
      if (!result) return then(result.error());
      then(result->dir.string());
    });
  });
}

void HandoverDriver::count_live(Then<Counts> then) {
  auto database = c_.config.app.data_dir / c_.config.health.database;
  auto counts = c_.config.health.counts;
  auto busy = c_.config.health.busy_timeout;
  std::weak_ptr<int> alive = alive_;
  auto user = c_.config.app.user, group = c_.config.app.group;
  c_.worker.post([this, alive, database, counts, busy, then, user, group] {
    std::error_code ec;
    Result<Counts> result = Counts{};
    auto reader = app_fs_identity(user, group);
    if (!reader) {
      result = reader.error();
    } else if (!counts.empty() && fs::exists(database, ec)) {
      auto probe =
          probe_database(database, counts, busy, /*check_integrity=*/false, reader->has_value() ? &**reader : nullptr);
      result = probe ? Result<Counts>(probe->counts) : Result<Counts>(probe.error());
    }
    asio::post(c_.io, [alive, result = std::move(result), then] {
      if (alive.lock()) then(result);
    });
  });
}

void HandoverDriver::count_busy(Then<std::int64_t> then) {
  auto database = c_.config.app.data_dir / c_.config.health.database;
  std::map<std::string, std::string> query{{"busy", c_.config.handover.idle_query}};
  auto busy = c_.config.health.busy_timeout;
  std::weak_ptr<int> alive = alive_;
  auto user = c_.config.app.user, group = c_.config.app.group;
  c_.worker.post([this, alive, database, query, busy, then, user, group] {
    std::error_code ec;
    Result<std::int64_t> result = std::int64_t{0};  // no database yet: nothing runs
    auto reader = app_fs_identity(user, group);
    if (!reader) {
      result = reader.error();
    } else if (fs::exists(database, ec)) {
      auto probe =
          probe_database(database, query, busy, /*check_integrity=*/false, reader->has_value() ? &**reader : nullptr);
      result = probe ? Result<std::int64_t>(probe->counts.at("busy")) : Result<std::int64_t>(probe.error());
    }
    asio::post(c_.io, [alive, result = std::move(result), then] {
      if (alive.lock()) then(result);
    });
  });
}

void HandoverDriver::start_new(const ReleaseInfo& release, std::function<void(const fs::path&)> started,
                               Then<NewInstance> then) {
  candidate_started_ = std::move(started);
  candidate_then_ = std::move(then);
  c_.slots.start_candidate(release);
}

void HandoverDriver::on_candidate_change(Slot& slot, const InstanceStatus& s) {
  switch (s.state) {
    case InstanceState::starting: {
      HistoryEvent e = instance_event(event::instance_started, &slot, s.instance_id, s.pid,
                                      "new instance, port " + std::to_string(slot.port));
      e.request_id = handover_ ? handover_->request().id : "";
      c_.note(std::move(e));
      spdlog::info("new instance {} started, pid {}, port {} (release {})", s.instance_id, s.pid, slot.port,
                   slot.release.dir.string());
      if (candidate_started_) candidate_started_(instance_paths(c_.config.app, s.instance_id).dir);
      return;
    }
    case InstanceState::ready: return verify_candidate(slot, s);
    default: break;
  }
  if (!is_alive(s.state) || s.state == InstanceState::stopping) finish_candidate(slot, s);
}

// Ready: its verification record is awaited (or, with probe, written for it); what
// it says goes to the machine, passed or not — Handover judges (rollback_policy.h).
void HandoverDriver::verify_candidate(Slot& slot, const InstanceStatus& s) {
  std::string request_id = handover_ ? handover_->request().id : "";
  HistoryEvent ready = instance_event(event::instance_ready, &slot, s.instance_id, s.pid, "new instance");
  ready.request_id = request_id;
  c_.note(std::move(ready));
  spdlog::info("new instance {} ready", s.instance_id);
  Config config = c_.config;
  config.app.port = slot.port;
  VerifyTarget target{s.instance_id, s.pid, utc_iso8601(s.started_at), slot.release.commit,
                      instance_paths(c_.config.app, s.instance_id).record_for(c_.config.health.verification)};
  // By value: the slot may be gone when the result comes.
  HistoryEvent row = instance_event("", &slot, s.instance_id, s.pid, "");
  row.request_id = request_id;
  candidate_verifier_.verify(config, target, [this, row](VerificationResult r) mutable {
    row.kind = r.ok ? event::verified : event::verification_failed;
    row.detail = r.ok ? "new instance, writer " + r.record.writer : r.reason;
    row.counts = r.record.counts;
    row.integrity = r.record.integrity;
    c_.note(std::move(row));
    auto then = std::exchange(candidate_then_, nullptr);
    if (!then) return;
    then(NewInstance{r.instance_id, r.record.counts, r.record.integrity,
                     instance_paths(c_.config.app, r.instance_id).dir, r.ok ? "" : r.reason});
  });
}

// Gone, or going, before the machine heard its verification: the handover fails.
void HandoverDriver::finish_candidate(Slot& slot, const InstanceStatus& s) {
  if (!is_alive(s.state)) {
    HistoryEvent e = instance_event(event::instance_stopped, &slot, s.instance_id, s.pid, "new instance: " + s.reason);
    e.request_id = handover_ ? handover_->request().id : "";
    c_.note(std::move(e));
  }
  candidate_verifier_.cancel();
  auto then = std::exchange(candidate_then_, nullptr);
  if (then) then(Error{"new_instance_gone", "the new instance " + s.instance_id + " " + s.reason});
}

void HandoverDriver::stop_new(std::function<void()> done) {
  candidate_then_ = nullptr;
  candidate_verifier_.cancel();
  c_.slots.stop_candidate(std::move(done));
}

void HandoverDriver::stop_old(std::function<void()> done) {
  Slot* retiring = c_.slots.retiring();
  // With the front, connections already open to the old instance finish first.
  if (front_ && retiring) {
    return front_->drain(retiring->port, c_.config.proxy.drain_timeout, [this, done] { c_.slots.stop_old(done); });
  }
  c_.slots.stop_old(std::move(done));
}

void HandoverDriver::start_old(std::function<void()> done) {
  c_.slots.current().controller->start();
  done();
}

void HandoverDriver::restore_lost_rows(const std::string& snapshot, Then<std::string> then) {
  fs::path live = c_.config.app.data_dir / c_.config.health.database;
  fs::path copy = fs::path(snapshot) / c_.config.health.database;
  std::weak_ptr<int> alive = alive_;
  auto user = c_.config.app.user, group = c_.config.app.group;
  c_.worker.post([this, alive, live, copy, snapshot, then, user, group] {
    // The live database as the app's user (red team, finding 2: as root, a symlink in
    // its place made this write into the supervisor's ledger).
    auto app = app_fs_identity(user, group);
    auto restored = app ? restore_missing_rows(live, copy, 10000, app->has_value() ? &**app : nullptr)
                        : Result<std::map<std::string, std::int64_t>>(app.error());
    asio::post(c_.io, [alive, restored = std::move(restored), snapshot, then]() mutable {
      if (!alive.lock()) return;
      if (!restored) return then(restored.error());
      if (restored->empty()) return then(std::string("no row was missing"));
      std::int64_t total = 0;
      for (const auto& [table, n] : *restored) total += n;
      then("put back " + std::to_string(total) + " lost rows (" + describe_counts(*restored) + ") from " + snapshot);
    });
  });
}

void HandoverDriver::restore_snapshot(const std::string& snapshot, Then<std::string> then) {
  std::weak_ptr<int> alive = alive_;
  // By value: the worker must not read config_, which a reload may replace meanwhile.
  BackupPaths backups{c_.config.backup.dir, backup_key_file(state_dir(c_.config.app))};
  c_.worker.post([this, alive, snapshot, then, data_dir = c_.config.app.data_dir, backups = std::move(backups)] {
    Result<std::string> outcome = std::string();
    auto lock = lock_backup_dir(backups.dir);
    auto found =
        lock ? find_snapshot(backups, fs::path(snapshot).filename().string()) : Result<SnapshotInfo>(lock.error());
    auto restored =
        found ? agentron::restore_snapshot(*found, data_dir, backups.dir) : Result<RestoreResult>(found.error());
    if (!restored)
      outcome = restored.error();
    else
      outcome = "restored " + snapshot + " (the damaged data dir is kept at " + restored->replaced.string() + ")";
    asio::post(c_.io, [alive, outcome = std::move(outcome), then] {
      if (alive.lock()) then(outcome);
    });
  });
}

Status HandoverDriver::make_current(const ReleaseInfo& release) {
  if (!c_.slots.candidate()) return Error{"no_new_instance", "the new instance is gone"};
  if (auto s = release_store().write(release, c_.slots.current().release, handover_->request().id); !s) return s;
  c_.slots.promote_candidate();
  const Slot& current = c_.slots.current();
  InstanceStatus now = current.controller->status();
  if (front_) front_->set_active(current.port, now.instance_id);  // new connections: the new instance
  c_.switched();
  spdlog::info("switched: instance {} (release {}, port {}) is current", now.instance_id, release.commit, current.port);
  return ok_status();
}

// An earlier supervisor was SIGKILLed: what it left is found here, judged by
// plan_reconcile (supervisor/reconcile_plan.h), and the plan carried out.
std::optional<InstanceRecord> HandoverDriver::reconcile() {
  fs::path state = state_dir(c_.config.app);
  LeftInstances left{live_recorded_instance(state, SlotRole::current),
                     live_recorded_instance(state, SlotRole::candidate),
                     live_recorded_instance(state, SlotRole::retiring),
                     {}};
  std::vector<pid_t> recorded;
  for (auto [role, r] : {std::pair{SlotRole::current, &left.current},
                         {SlotRole::candidate, &left.candidate},
                         {SlotRole::retiring, &left.retiring}}) {
    if (*r)
      recorded.push_back((*r)->pid);
    else
      remove_instance_record(state, role);  // its process is gone
  }
  left.unrecorded = unrecorded_instances(c_.config.app.data_dir, recorded);
  std::optional<HistoryRequest> request;
  if (auto unfinished = c_.history.unfinished_request(); unfinished && *unfinished) request = **unfinished;
  std::optional<UnfinishedRequest> unfinished;
  if (request) unfinished = UnfinishedRequest{request->id, request->commit, request->state};

  ReconcilePlan plan = plan_reconcile(left, unfinished, release_store().read());
  for (const auto& stop : plan.stop) c_.slots.add_leftover(stop.role, stop.record);
  if (plan.serving) {
    write_instance_record(state, *plan.serving, SlotRole::current);
    if (left.candidate && left.candidate->pid == plan.serving->pid) remove_instance_record(state, SlotRole::candidate);
  }
  if (!plan.summary.empty()) spdlog::warn("an earlier supervisor left instances running: {}", plan.summary);
  if (!request) return plan.serving;
  HistoryRequest r = *request;
  r.state = to_string(*plan.request_state);
  r.reason = plan.request_reason;
  r.updated_at = utc_iso8601_ms(WallClock::now());
  (void)c_.history.upsert_request(r);
  (void)c_.history.add_phase(r.id, r.state, r.reason);
  last_request_ = r;
  spdlog::warn("request {}: {} — {}", r.id, r.state, r.reason);
  return plan.serving;
}

// The release a (re)started supervisor runs: the last one a handover made current,
// if it is still there; else [app] release.
ReleaseInfo HandoverDriver::current_release() const {
  ReleaseInfo configured{release_commit(c_.config.app.release), c_.config.app.release};
  auto current = release_store().read();
  if (!current) return configured;
  std::error_code ec;
  if (!fs::is_directory(current->release.dir, ec)) {
    spdlog::error("the current release {} (from {}) is gone; starting [app] release {}", current->release.dir.string(),
                  release_store().file().string(), c_.config.app.release.string());
    return configured;
  }
  return current->release;
}

ReleaseStore HandoverDriver::release_store() const {
  return ReleaseStore(state_dir(c_.config.app) / "current-release.json");
}

}  // namespace agentron
