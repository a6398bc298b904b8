#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "backup/catalog.h"
#include "common/unique_fd.h"
#include "common/utc_time.h"
#include "config/placeholders.h"
#include "healthcheck/http_probe.h"
#include "healthcheck/record_probe.h"
#include "launcher/instance_spec.h"
#include "supervisor/daemon_impl.h"
#include "supervisor/data_dir_lock.h"
#include "supervisor/instance_record.h"
#include "supervisor/sd_notify.h"
#include "supervisor/status_json.h"

namespace agentron {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

Status make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"mkdir_failed", "cannot create " + dir.string() + ": " + ec.message()};
  ::chmod(dir.c_str(), 0700);
  return ok_status();
}

// Instance folders are the supervisor's own state: old ones go, newest first kept.
void prune_instance_dirs(const fs::path& instances, int keep, const std::vector<std::string>& in_use) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> dirs;
  for (const auto& entry : fs::directory_iterator(instances, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && std::find(in_use.begin(), in_use.end(), name) == in_use.end()) {
      dirs.emplace_back(entry.last_write_time(ec), entry.path());
    }
  }
  if (static_cast<int>(dirs.size()) < keep) return;
  std::sort(dirs.begin(), dirs.end());
  for (size_t i = 0; i + static_cast<size_t>(keep) <= dirs.size(); ++i) fs::remove_all(dirs[i].second, ec);
}

nlohmann::json verification_json(const HistoryEvent& e) {
  return {{"instance_id", e.instance_id},
          {"ok", e.kind == std::string(event::verified)},
          {"at", e.at},
          {"commit", e.commit},
          {"counts", e.counts},
          {"integrity", e.integrity},
          {"detail", e.detail}};
}

// The ledger row for a state change of the serving instance ("" for none).
const char* event_for(InstanceState previous, const InstanceStatus& s) {
  switch (s.state) {
    case InstanceState::starting: return event::instance_started;
    case InstanceState::ready: return event::instance_ready;
    case InstanceState::backoff: return event::instance_exited;
    case InstanceState::failed: return event::instance_failed;
    case InstanceState::stopped: return event::instance_stopped;
    case InstanceState::stopping:
      return previous == InstanceState::starting && s.reason != "stop requested" ? event::readiness_failed : "";
  }
  return "";
}

}  // namespace

Daemon::Daemon(Config config, ConfigLoader reload)
    : config_(std::move(config)),
      reload_(std::move(reload)),
      clock_(io_),
      reaper_(io_),
      spawner_(reaper_, executable_dir() / "agentron-log"),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      verifier_(io_, clock_),
      candidate_verifier_(io_, clock_),
      probation_(clock_) {}

Daemon::~Daemon() {
  alive_.reset();
  worker_.join();
}

int Daemon::run() {
  if (auto s = prepare(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  spdlog::info("supervising data dir {} (config {}); release {}", config_.app.data_dir.string(), config_.source,
               current_->release.dir.string());
  for (const auto& w : config_.warnings) spdlog::warn("{}", w);
  note(release_event(event::supervisor_started, current_.get(), "", ::getpid(), "config " + config_.source));
  signals_.add(SIGUSR2);  // rescan requests/
  wait_for_signal();
  stop_leftovers();
  if (!adopt_current_ || !current_->controller->adopt(adopt_current_->pid, adopt_current_->instance_id)) {
    if (adopt_current_) spdlog::error("{}; starting a new instance", current_->controller->status().reason);
    current_->controller->start();
  }
  if (intake_) intake_->rescan();  // requests written while no supervisor ran
  run_loop();
  note(release_event(event::supervisor_stopped, current_.get(), "", ::getpid(), ""));
  spdlog::info("supervisor exits");
  return 0;
}

void Daemon::run_loop() {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // Asio lets the exception leave run() and keeps the other handlers queued: log
      // it and go on, rather than let std::terminate orphan the app.
      spdlog::critical("a handler of the event loop threw (a bug; the supervisor goes on): {}", e.what());
    }
  }
}

Status Daemon::prepare() {
  std::error_code ec;
  if (!fs::exists(config_.app.data_dir, ec)) {
    spdlog::info("creating data dir {}", config_.app.data_dir.string());
    fs::create_directories(config_.app.data_dir, ec);
    if (ec)
      return Error{"mkdir_failed", "cannot create data dir " + config_.app.data_dir.string() + ": " + ec.message()};
  }
  fs::path helper = executable_dir() / "agentron-log";
  if (::access(helper.c_str(), X_OK) != 0) {
    return errno_error("install_broken",
                       "cannot run the log helper " + helper.string() + " (it is installed beside agentron-supervisor)",
                       errno);
  }
  if (!config_.source.empty() && config_.source.front() != '<') config_path_ = fs::absolute(config_.source);
  fs::path state = state_dir(config_.app);
  if (auto s = make_private_dir(state); !s) return s;
  if (auto s = make_private_dir(state / "instances"); !s) return s;
  auto lock = lock_data_dir(state);
  if (!lock) return lock.error();
  lock_.emplace(std::move(lock.value()));
  auto history = History::open(history_path(state));
  if (!history) return history.error();
  history_.emplace(std::move(history.value()));
  // Two Agentrons on one data dir would both write the DB and both run the scheduler
  // (DESIGN §4): what an earlier supervisor left running is taken over or stopped.
  reconcile();
  if (auto last = history_->last_of({event::verified, event::verification_failed}); last && *last) {
    last_verification_ = verification_json(**last);
  }

  clean_interrupted_snapshots();
  auto control = ControlServer::listen(io_, state / "control.sock", static_cast<ControlActions&>(*this));
  if (!control) return control.error();
  control_ = std::move(control.value());
  if (config_.fork.configured) {
    if (auto s = open_intake(); !s) return s;
  }
  if (config_.proxy.configured) {
    long files = raise_open_files_limit();
    auto front = TcpFront::open(config_.proxy, io_.get_executor());
    if (!front) return front.error();
    front_ = std::move(front.value());
    spdlog::info("front: listening on {}:{}, instances on ports {}-{} (open files limit {})", config_.proxy.listen_host,
                 config_.proxy.listen_port, config_.proxy.first_port, config_.proxy.last_port, files);
  }
  current_ = make_slot("current", load_current_release(), free_instance_port(), config_.restart);
  return ok_status();
}

std::unique_ptr<Slot> Daemon::make_slot(std::string role, ReleaseInfo release, int port, RestartConfig restart) {
  auto slot = std::make_unique<Slot>();
  slot->role = std::move(role);
  slot->release = std::move(release);
  slot->port = port;
  Slot* raw = slot.get();  // the Slot outlives its controller; it moves between roles, never in memory
  slot->controller = std::make_unique<InstanceController>(
      clock_, spawner_, [this, raw](const std::string& id) { return spawn_spec(*raw, id); },
      [this] { return new_instance_id(); }, restart, StopSettings{config_.app.stop_signal, config_.app.stop_timeout});
  slot->controller->on_change = [this, raw](const InstanceStatus& s) { on_slot_change(*raw, s); };
  apply_health_config(*slot);
  return slot;
}

void Daemon::apply_health_config(Slot& slot) {
  int port = slot.port;
  fs::path release = slot.release.dir;
  slot.controller->set_readiness([this, port, release](const std::string& id) { return make_probe(id, port, release); },
                                 ReadinessSettings{config_.health.interval, config_.health.timeout});
}

// [health] readiness for a new instance; nullptr when it is ready once started.
std::unique_ptr<Probe> Daemon::make_probe(const std::string& id, int port, const fs::path& release) {
  const HealthConfig& h = config_.health;
  if (h.readiness == ReadinessKind::none) return nullptr;
  if (h.readiness == ReadinessKind::record) {
    return make_record_probe(io_, instance_paths(config_.app, id).verification_file(), id);
  }
  PlaceholderValues values{release.string(), std::to_string(port), config_.app.data_dir.string(), id};
  auto url = parse_http_url(expand_placeholders(h.url, values));
  if (!url) {
    // Checked at load; an expansion can still make it unusable. Never ready, said why.
    spdlog::error("[health] url: {}", url.error().message);
    url = HttpUrl{"127.0.0.1", "0", "/"};
  }
  if (h.readiness == ReadinessKind::tcp) return make_tcp_probe(io_, url->host, url->port, h.try_timeout);
  return make_http_probe(io_, *url, h.try_timeout);
}

SpawnSpec Daemon::spawn_spec(const Slot& slot, const std::string& id) {
  std::error_code ec;
  fs::create_directories(instance_paths(config_.app, id).dir, ec);
  return make_spawn_spec(config_, slot.release.dir, slot.port, id, current_environment());
}

std::string Daemon::new_instance_id() {
  std::string stamp = utc_compact(WallClock::now());
  fs::path instances = state_dir(config_.app) / "instances";
  for (;;) {
    std::string id = stamp + "-" + std::to_string(++instance_seq_);
    if (!fs::exists(instances / id)) return id;
  }
}

HistoryEvent Daemon::release_event(std::string kind, const Slot* slot, std::string instance_id, pid_t pid,
                                   std::string detail) {
  HistoryEvent e;
  e.kind = std::move(kind);
  e.instance_id = std::move(instance_id);
  e.pid = pid;
  if (slot) {
    e.release = slot->release.dir.string();
    e.commit = slot->release.commit;
  }
  e.detail = std::move(detail);
  return e;
}

// One row in the ledger. A ledger that cannot be written is logged loudly, but the
// app keeps being supervised: stopping it would not make the record come back.
void Daemon::note(HistoryEvent e) {
  if (!history_) return;
  if (auto id = history_->record(std::move(e)); !id) spdlog::error("history: {}", id.error().message);
}

void Daemon::record_instance(const Slot& slot, const InstanceStatus& s) {
  fs::path state = state_dir(config_.app);
  if (s.state == InstanceState::starting) {
    // Recorded before it is announced: whoever saw "started" can rely on the record.
    if (auto ticks = process_start_ticks(s.pid))
      write_instance_record(state, {s.instance_id, s.pid, *ticks}, slot.role);
  } else if (!is_alive(s.state)) {
    remove_instance_record(state, slot.role);
  }
}

void Daemon::on_slot_change(Slot& slot, const InstanceStatus& s) {
  InstanceState previous = std::exchange(slot.last_state, s.state);
  if (&slot == candidate_.get()) return on_candidate_change(slot, s);
  if (&slot != current_.get()) {  // retiring, or left over by an earlier supervisor
    record_instance(slot, s);
    if (const char* kind = event_for(previous, s); *kind && !is_alive(s.state)) {
      note(release_event(kind, &slot, s.instance_id, s.pid, s.reason));
    }
    spdlog::info("old instance {}: {} {}", s.instance_id, to_string(s.state), s.reason);
    return;
  }
  on_current_change(slot, previous, s);
}

void Daemon::on_current_change(Slot& slot, InstanceState previous, const InstanceStatus& s) {
  // The ledger first: whoever saw a log line can find its row.
  if (const char* kind = event_for(previous, s); *kind)
    note(release_event(kind, &slot, s.instance_id, s.pid, s.reason));
  record_instance(slot, s);
  switch (s.state) {
    case InstanceState::starting: {
      spdlog::info("instance {} started, pid {}", s.instance_id, s.pid);
      // After the start, not before: a restart waits for nothing but the exec.
      std::vector<std::string> in_use{s.instance_id};
      if (candidate_) in_use.push_back(candidate_->controller->status().instance_id);
      if (retiring_) in_use.push_back(retiring_->controller->status().instance_id);
      prune_instance_dirs(state_dir(config_.app) / "instances", config_.app.keep_instances, in_use);
      break;
    }
    case InstanceState::ready:
      spdlog::info("instance {} ready (pid {})", s.instance_id, s.pid);
      if (front_) front_->set_active(slot.port, s.instance_id);
      if (!notified_ready_) sd_notify("READY=1");
      notified_ready_ = true;
      start_verification(s);  // after its "ready" row: a record already there is verified at once
      return;
    case InstanceState::backoff:
      switch_back_if_on_probation(s);
      spdlog::warn("{}; restarting in {} (restart {})", s.reason,
                   format_duration(std::chrono::round<std::chrono::milliseconds>(s.next_restart_in)), s.restart_count);
      break;
    case InstanceState::failed:
      switch_back_if_on_probation(s);
      spdlog::error("app failed, not restarting: {}. Fix the app, then send SIGHUP or restart the supervisor",
                    s.reason);
      break;
    case InstanceState::stopping: spdlog::info("instance {} (pid {}): {}", s.instance_id, s.pid, s.reason); break;
    case InstanceState::stopped: spdlog::info("instance {}: {}", s.instance_id, s.reason); break;
  }
  if (s.state != InstanceState::starting) cancel_verification(s);
  // Not ready any more: new connections wait for the next instance instead of failing.
  if (front_ && front_->active_port() == slot.port) front_->clear_active();
}

// The current instance exited or failed: within probation of a switch (Probation,
// supervisor/rollback_policy.h) the supervisor goes back to the previous release, the
// verified way.
void Daemon::switch_back_if_on_probation(const InstanceStatus& s) {
  if (stopping_ || !probation_.crash_switches_back()) return;
  std::string why = "probation: the new release's instance " + s.reason + " within " +
                    format_duration(probation_.length()) + " of the switch; switching back";
  if (auto id = start_rollback(why, "supervisor (probation)"); !id) {
    spdlog::error("{}, but cannot: {}", why, id.error().message);
  }
}

void Daemon::start_verification(const InstanceStatus& s) {
  VerifyTarget target{s.instance_id, s.pid, utc_iso8601(s.started_at), current_->release.commit,
                      instance_paths(config_.app, s.instance_id).verification_file()};
  verifier_.verify(config_, target, [this](VerificationResult r) { on_verified(r); });
}

void Daemon::on_verified(const VerificationResult& r) {
  if (config_.health.verification == VerificationKind::none) {
    for (auto& respond : std::exchange(verify_waiters_, {})) respond(ok_response({{"ok", true}, {"detail", r.reason}}));
    return;
  }
  HistoryEvent e = release_event(r.ok ? event::verified : event::verification_failed, current_.get(), r.instance_id,
                                 r.record.pid, r.ok ? "writer " + r.record.writer + ", " + r.record_path : r.reason);
  if (!r.record.commit.empty()) e.commit = r.record.commit;
  e.counts = r.record.counts;
  e.integrity = r.record.integrity;
  e.at = r.at;
  last_verification_ = verification_json(e);
  for (auto& respond : std::exchange(verify_waiters_, {})) {
    respond(r.ok ? ok_response(last_verification_) : error_response("not_verified", r.reason));
  }
  note(std::move(e));
  if (r.ok)
    spdlog::info("instance {} verified: {}, integrity {} (record by {}, {} ms)", r.instance_id,
                 describe_counts(r.record.counts), r.record.integrity, r.record.writer,
                 std::chrono::duration_cast<std::chrono::milliseconds>(r.took).count());
  else
    spdlog::error("instance {} NOT verified: {}", r.instance_id, r.reason);
}

void Daemon::cancel_verification(const InstanceStatus& s) {
  verifier_.cancel();
  for (auto& respond : std::exchange(verify_waiters_, {})) {
    respond(error_response("not_ready", "instance " + s.instance_id + " went " + to_string(s.state) +
                                            " before its verification finished"));
  }
}

// Folders of snapshots a crash interrupted are never listed; they go at the next
// start — unless a backup command is running right now and holds the lock.
void Daemon::clean_interrupted_snapshots() {
  std::error_code ec;
  if (!fs::is_directory(config_.backup.dir, ec)) return;
  auto lock = lock_backup_dir(config_.backup.dir);
  if (!lock) return;
  for (const auto& name : remove_incomplete_snapshots(config_.backup.dir)) {
    spdlog::info("removed {}: an interrupted snapshot", (config_.backup.dir / name).string());
  }
}

void Daemon::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP)
      reload();
    else if (signo == SIGUSR2) {
      spdlog::info("SIGUSR2: rescanning {}", intake_ ? intake_->dir().string() : "(no [fork]: no requests)");
      if (intake_) intake_->rescan();
    } else
      shut_down(signo);
    if (!exiting_) wait_for_signal();
  });
}

void Daemon::shut_down(int signo) {
  if (stopping_) {
    spdlog::warn("{} again: already stopping the app (SIGKILL follows after stop_timeout {})", signal_name(signo),
                 format_duration(config_.app.stop_timeout));
    return;
  }
  stopping_ = true;
  sd_notify("STOPPING=1");
  spdlog::info("{}: stopping the app, then exiting", signal_name(signo));
  if (fork_pid_ > 0) ::kill(-fork_pid_, SIGTERM);
  if (handover_) handover_->abandon(std::string("the supervisor was stopped during ") + to_string(handover_->phase()));
  // Everything that runs stops; the supervisor exits when the last one is gone.
  auto remaining = std::make_shared<int>(0);
  auto one_done = [this, remaining] {
    if (--*remaining > 0) return;
    exiting_ = true;
    signals_.cancel();
    control_.reset();
    intake_.reset();
    front_.reset();
    io_.stop();
  };
  std::vector<InstanceController*> all;
  for (auto* slot : {current_.get(), candidate_.get(), retiring_.get()}) {
    if (slot) all.push_back(slot->controller.get());
  }
  for (auto& leftover : leftovers_) all.push_back(leftover.slot->controller.get());
  *remaining = static_cast<int>(all.size());
  for (auto* controller : all) controller->stop(one_done);
}

void Daemon::reload() {
  sd_notify("RELOADING=1");
  spdlog::info("SIGHUP: reloading the config from {}", config_.source);
  ConfigResult loaded = reload_();
  if (!loaded.config) {
    for (const auto& e : loaded.errors) spdlog::error("{}", e.to_string());
    spdlog::error("reload refused: the config has {} error(s); still running with the previous config",
                  loaded.errors.size());
  } else if (loaded.config->app.data_dir != config_.app.data_dir) {
    spdlog::error(
        "reload refused: [app] data_dir changed ({} → {}); the data dir is pinned for the "
        "supervisor's life — restart the supervisor to change it",
        config_.app.data_dir.string(), loaded.config->app.data_dir.string());
  } else {
    for (const auto& w : loaded.config->warnings) spdlog::warn("{}", w);
    config_ = std::move(*loaded.config);
    InstanceController& c = *current_->controller;
    c.set_restart_config(config_.restart);
    c.set_stop_settings({config_.app.stop_signal, config_.app.stop_timeout});
    apply_health_config(*current_);
    spdlog::info("config reloaded; [app] changes apply from the next start of the app");
    if (c.status().state == InstanceState::failed && !stopping_) {
      spdlog::info("the app had failed: starting it again with the reloaded config");
      c.start();
    }
  }
  sd_notify("READY=1");
}

namespace {

// True if nothing listens on (or holds) 127.0.0.1:port right now.
bool port_is_free(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the app will
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

// Without [proxy]: the [app] port. With it: the first port of the range that no
// other slot uses and nothing else holds (a client's ephemeral port can be in it).
int Daemon::free_instance_port() const {
  if (!config_.proxy.configured) return config_.app.port;
  for (int port = config_.proxy.first_port; port <= config_.proxy.last_port; ++port) {
    bool used = false;
    for (const Slot* slot : {current_.get(), candidate_.get(), retiring_.get()})
      used = used || (slot && slot->port == port);
    if (!used && port_is_free(port)) return port;
  }
  spdlog::error("[proxy] instance_ports {}-{}: no free port; trying {}", config_.proxy.first_port,
                config_.proxy.last_port, config_.proxy.first_port);
  return config_.proxy.first_port;
}

// A controller may be the one whose callback is running: it goes on the next turn.
void Daemon::post_destroy(std::unique_ptr<Slot> slot) {
  if (!slot) return;
  asio::post(io_, [slot = std::shared_ptr<Slot>(std::move(slot))] {});
}

int run_daemon(Config config, ConfigLoader reload) {
  // A client that hangs up mid-answer must cost an EPIPE, not the supervisor. Children
  // get default dispositions back at spawn (POSIX_SPAWN_SETSIGDEF).
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(std::move(config), std::move(reload));
  return daemon.run();
}

}  // namespace agentron
