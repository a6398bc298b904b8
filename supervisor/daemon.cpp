#include "supervisor/daemon.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <optional>

#include "backup/catalog.h"
#include "common/asio_clock.h"
#include "config/placeholders.h"
#include "healthcheck/http_probe.h"
#include "healthcheck/record_probe.h"
#include "history/history.h"
#include "launcher/instance_spec.h"
#include "launcher/posix_spawner.h"
#include "supervisor/control_server.h"
#include "supervisor/data_dir_lock.h"
#include "supervisor/instance_controller.h"
#include "supervisor/instance_record.h"
#include "supervisor/instance_verifier.h"
#include "supervisor/sd_notify.h"
#include "supervisor/status_json.h"

namespace agentron {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

Status make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"mkdir_failed", "cannot create " + dir.string() + ": " + ec.message()};
  ::chmod(dir.c_str(), 0700);
  return ok_status();
}

// Instance folders are the supervisor's own state: old ones go, newest first kept.
void prune_instance_dirs(const fs::path& instances, int keep, const std::string& current) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> dirs;
  for (const auto& entry : fs::directory_iterator(instances, ec)) {
    if (entry.is_directory(ec) && entry.path().filename() != current) {
      dirs.emplace_back(entry.last_write_time(ec), entry.path());
    }
  }
  if (static_cast<int>(dirs.size()) < keep) return;
  std::sort(dirs.begin(), dirs.end());
  for (size_t i = 0; i + static_cast<size_t>(keep) <= dirs.size(); ++i) fs::remove_all(dirs[i].second, ec);
}

class Daemon {
 public:
  Daemon(Config config, ConfigLoader reload)
      : config_(std::move(config)),
        reload_(std::move(reload)),
        clock_(io_),
        reaper_(io_),
        spawner_(reaper_, executable_dir() / "agentron-log"),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        verifier_(io_, clock_) {}

  int run() {
    if (auto s = prepare(); !s) {
      spdlog::error("{}", s.error().message);
      return 1;
    }
    spdlog::info("supervising data dir {} (config {}); release {}", config_.app.data_dir.string(), config_.source,
                 config_.app.release.string());
    for (const auto& w : config_.warnings) spdlog::warn("{}", w);
    note(release_event(event::supervisor_started, "", ::getpid(), "config " + config_.source));
    wait_for_signal();
    controller_->start();
    io_.run();
    note(release_event(event::supervisor_stopped, "", ::getpid(), ""));
    spdlog::info("supervisor exits");
    return 0;
  }

 private:
  Status prepare() {
    std::error_code ec;
    if (!fs::exists(config_.app.data_dir, ec)) {
      spdlog::info("creating data dir {}", config_.app.data_dir.string());
      fs::create_directories(config_.app.data_dir, ec);
      if (ec)
        return Error{"mkdir_failed", "cannot create data dir " + config_.app.data_dir.string() + ": " + ec.message()};
    }
    fs::path helper = executable_dir() / "agentron-log";
    if (::access(helper.c_str(), X_OK) != 0) {
      return errno_error(
          "install_broken",
          "cannot run the log helper " + helper.string() + " (it is installed beside agentron-supervisor)", errno);
    }
    fs::path state = state_dir(config_.app);
    if (auto s = make_private_dir(state); !s) return s;
    if (auto s = make_private_dir(state / "instances"); !s) return s;
    auto lock = lock_data_dir(state);
    if (!lock) return lock.error();
    lock_.emplace(std::move(lock.value()));
    if (auto orphan = live_recorded_instance(state)) {
      // Two Agentrons on one data dir would both write the DB and both run the
      // scheduler (DESIGN §4): never start a second one next to a survivor.
      return Error{"instance_still_running",
                   "instance " + orphan->instance_id + " (pid " + std::to_string(orphan->pid) +
                       "), started by an earlier supervisor that did not stop it, is still running on data dir " +
                       config_.app.data_dir.string() + "; stop it first (kill -TERM -" + std::to_string(orphan->pid) +
                       " stops its whole process group), then start the supervisor again"};
    }

    auto history = History::open(history_path(state));
    if (!history) return history.error();
    history_.emplace(std::move(history.value()));
    if (auto last = history_->last_of({event::verified, event::verification_failed}); last && *last) {
      last_verification_ = verification_json(**last);
    }

    clean_interrupted_snapshots();
    auto control = ControlServer::listen(io_, state / "control.sock",
                                         [this](const nlohmann::json& request, ControlServer::Responder respond) {
                                           handle(request, std::move(respond));
                                         });
    if (!control) return control.error();
    control_ = std::move(control.value());

    controller_ = std::make_unique<InstanceController>(
        clock_, spawner_, [this](const std::string& id) { return spawn_spec(id); },
        [this] { return new_instance_id(); }, config_.restart,
        StopSettings{config_.app.stop_signal, config_.app.stop_timeout});
    controller_->on_change = [this](const InstanceStatus& s) { log_change(s); };
    apply_health_config();
    return ok_status();
  }

  void apply_health_config() {
    controller_->set_readiness([this](const std::string& id) { return make_probe(id); },
                               ReadinessSettings{config_.health.interval, config_.health.timeout});
  }

  // [health] readiness for a new instance; nullptr when it is ready once started.
  std::unique_ptr<Probe> make_probe(const std::string& id) {
    const HealthConfig& h = config_.health;
    if (h.readiness == ReadinessKind::none) return nullptr;
    if (h.readiness == ReadinessKind::record) {
      return make_record_probe(io_, instance_paths(config_.app, id).verification_file(), id);
    }
    PlaceholderValues values{config_.app.release.string(), std::to_string(config_.app.port),
                             config_.app.data_dir.string(), id};
    auto url = parse_http_url(expand_placeholders(h.url, values));
    if (!url) {
      // Checked at load; an expansion can still make it unusable. Never ready, said why.
      spdlog::error("[health] url: {}", url.error().message);
      url = HttpUrl{"127.0.0.1", "0", "/"};
    }
    if (h.readiness == ReadinessKind::tcp) return make_tcp_probe(io_, url->host, url->port, h.try_timeout);
    return make_http_probe(io_, *url, h.try_timeout);
  }

  HistoryEvent release_event(std::string kind, std::string instance_id, pid_t pid, std::string detail) {
    HistoryEvent e;
    e.kind = std::move(kind);
    e.instance_id = std::move(instance_id);
    e.pid = pid;
    e.release = config_.app.release.string();
    e.commit = release_commit(config_.app.release);
    e.detail = std::move(detail);
    return e;
  }

  // One row in the ledger. A ledger that cannot be written is logged loudly, but the
  // app keeps being supervised: stopping it would not make the record come back.
  void note(HistoryEvent e) {
    if (!history_) return;
    if (auto id = history_->record(std::move(e)); !id) spdlog::error("history: {}", id.error().message);
  }

  void start_verification(const InstanceStatus& s) {
    VerifyTarget target{s.instance_id, s.pid, utc_iso8601(s.started_at), release_commit(config_.app.release),
                        instance_paths(config_.app, s.instance_id).verification_file()};
    verifier_.verify(config_, target, [this](VerificationResult r) { on_verified(r); });
  }

  void on_verified(const VerificationResult& r) {
    if (config_.health.verification == VerificationKind::none) {
      for (auto& respond : std::exchange(verify_waiters_, {}))
        respond(ok_response({{"ok", true}, {"detail", r.reason}}));
      return;
    }
    HistoryEvent e = release_event(r.ok ? event::verified : event::verification_failed, r.instance_id, r.record.pid,
                                   r.ok ? "writer " + r.record.writer + ", " + r.record_path : r.reason);
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

  static nlohmann::json verification_json(const HistoryEvent& e) {
    return {{"instance_id", e.instance_id},
            {"ok", e.kind == std::string(event::verified)},
            {"at", e.at},
            {"commit", e.commit},
            {"counts", e.counts},
            {"integrity", e.integrity},
            {"detail", e.detail}};
  }

  // Folders of snapshots a crash interrupted are never listed; they go at the next
  // start — unless a backup command is running right now and holds the lock.
  void clean_interrupted_snapshots() {
    std::error_code ec;
    if (!fs::is_directory(config_.backup.dir, ec)) return;
    auto lock = lock_backup_dir(config_.backup.dir);
    if (!lock) return;
    for (const auto& name : remove_incomplete_snapshots(config_.backup.dir)) {
      spdlog::info("removed {}: an interrupted snapshot", (config_.backup.dir / name).string());
    }
  }

  SpawnSpec spawn_spec(const std::string& id) {
    std::error_code ec;
    fs::create_directories(instance_paths(config_.app, id).dir, ec);
    return make_spawn_spec(config_, config_.app.release, id, current_environment());
  }

  std::string new_instance_id() {
    std::string stamp = utc_iso8601(std::chrono::system_clock::now());
    stamp.erase(std::remove(stamp.begin(), stamp.end(), '-'), stamp.end());
    stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
    fs::path instances = state_dir(config_.app) / "instances";
    for (;;) {
      std::string id = stamp + "-" + std::to_string(++instance_seq_);
      if (!fs::exists(instances / id)) return id;
    }
  }

  // The ledger row for a state change ("" for none).
  static const char* event_for(InstanceState previous, const InstanceStatus& s) {
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

  void log_change(const InstanceStatus& s) {
    InstanceState previous = std::exchange(last_state_, s.state);
    // The ledger first: whoever saw a log line can find its row.
    if (const char* kind = event_for(previous, s); *kind) note(release_event(kind, s.instance_id, s.pid, s.reason));
    switch (s.state) {
      case InstanceState::starting:
        // Recorded before it is announced: whoever saw "started" can rely on the record.
        if (auto ticks = process_start_ticks(s.pid)) {
          write_instance_record(state_dir(config_.app), {s.instance_id, s.pid, *ticks});
        }
        spdlog::info("instance {} started, pid {}", s.instance_id, s.pid);
        // After the start, not before: a restart waits for nothing but the exec.
        prune_instance_dirs(state_dir(config_.app) / "instances", config_.app.keep_instances, s.instance_id);
        break;
      case InstanceState::ready:
        spdlog::info("instance {} ready (pid {})", s.instance_id, s.pid);
        if (!notified_ready_) sd_notify("READY=1");
        notified_ready_ = true;
        start_verification(s);  // after its "ready" row: a record already there is verified at once
        return;
      case InstanceState::backoff:
        spdlog::warn("{}; restarting in {} (restart {})", s.reason,
                     format_duration(std::chrono::round<std::chrono::milliseconds>(s.next_restart_in)),
                     s.restart_count);
        remove_instance_record(state_dir(config_.app));
        break;
      case InstanceState::failed:
        remove_instance_record(state_dir(config_.app));
        spdlog::error("app failed, not restarting: {}. Fix the app, then send SIGHUP or restart the supervisor",
                      s.reason);
        break;
      case InstanceState::stopping: spdlog::info("instance {} (pid {}): {}", s.instance_id, s.pid, s.reason); break;
      case InstanceState::stopped:
        spdlog::info("instance {}: {}", s.instance_id, s.reason);
        remove_instance_record(state_dir(config_.app));
        break;
    }
    if (s.state != InstanceState::starting) cancel_verification(s);
  }

  void cancel_verification(const InstanceStatus& s) {
    verifier_.cancel();
    for (auto& respond : std::exchange(verify_waiters_, {})) {
      respond(error_response("not_ready", "instance " + s.instance_id + " went " + to_string(s.state) +
                                              " before its verification finished"));
    }
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP)
        reload();
      else
        shut_down(signo);
      if (!exiting_) wait_for_signal();
    });
  }

  void shut_down(int signo) {
    if (stopping_) {
      spdlog::warn("{} again: already stopping the app (SIGKILL follows after stop_timeout {})", signal_name(signo),
                   format_duration(config_.app.stop_timeout));
      return;
    }
    stopping_ = true;
    sd_notify("STOPPING=1");
    spdlog::info("{}: stopping the app, then exiting", signal_name(signo));
    controller_->stop([this] {
      exiting_ = true;
      signals_.cancel();
      control_.reset();
      io_.stop();
    });
  }

  void reload() {
    sd_notify("RELOADING=1");
    apply_reload();
    sd_notify("READY=1");
  }

  void apply_reload() {
    spdlog::info("SIGHUP: reloading the config from {}", config_.source);
    ConfigResult loaded = reload_();
    if (!loaded.config) {
      for (const auto& e : loaded.errors) spdlog::error("{}", e.to_string());
      spdlog::error("reload refused: the config has {} error(s); still running with the previous config",
                    loaded.errors.size());
      return;
    }
    Config next = std::move(*loaded.config);
    if (next.app.data_dir != config_.app.data_dir) {
      spdlog::error(
          "reload refused: [app] data_dir changed ({} → {}); the data dir is pinned for the "
          "supervisor's life — restart the supervisor to change it",
          config_.app.data_dir.string(), next.app.data_dir.string());
      return;
    }
    for (const auto& w : next.warnings) spdlog::warn("{}", w);
    config_ = std::move(next);
    controller_->set_restart_config(config_.restart);
    controller_->set_stop_settings({config_.app.stop_signal, config_.app.stop_timeout});
    apply_health_config();
    spdlog::info("config reloaded; [app] changes apply from the next start of the app");
    if (controller_->status().state == InstanceState::failed && !stopping_) {
      spdlog::info("the app had failed: starting it again with the reloaded config");
      controller_->start();
    }
  }

  // status: the state. stop: stop the app (answered once it is gone) and keep it
  // stopped. start: start it again (from stopped or failed).
  void handle(const nlohmann::json& request, ControlServer::Responder respond) {
    std::string method = request["method"].get<std::string>();
    if (method == "status") return respond(ok_response(status_json()));
    if (stopping_ && (method == "stop" || method == "start")) {
      return respond(error_response("shutting_down", "the supervisor is shutting down"));
    }
    if (method == "stop") {
      spdlog::info("control: stop requested ({})", request.value("reason", "no reason given"));
      return controller_->stop([this, respond] { respond(ok_response(status_json())); });
    }
    if (method == "start") {
      spdlog::info("control: start requested ({})", request.value("reason", "no reason given"));
      controller_->start();
      return respond(ok_response(status_json()));
    }
    if (method == "verify") {
      InstanceStatus st = controller_->status();
      if (st.state != InstanceState::ready) {
        return respond(error_response(
            "not_ready", std::string("the app is ") + to_string(st.state) + "; verification needs a ready instance"));
      }
      verify_waiters_.push_back(std::move(respond));
      return start_verification(st);
    }
    respond(error_response("unknown_method",
                           "unknown method '" + method + "'; this supervisor knows: status, stop, start, verify"));
  }

  nlohmann::json status_json() {
    nlohmann::json j = to_json(controller_->status());
    j["supervisor_pid"] = ::getpid();
    j["config"] = config_.source;
    j["data_dir"] = config_.app.data_dir.string();
    j["release"] = config_.app.release.string();
    j["commit"] = release_commit(config_.app.release);
    j["readiness"] = to_string(config_.health.readiness);
    j["verification"] = to_string(config_.health.verification);
    j["last_verification"] = last_verification_;
    j["shutting_down"] = stopping_;
    return j;
  }

  Config config_;
  ConfigLoader reload_;
  asio::io_context io_;
  AsioClock clock_;
  ChildReaper reaper_;
  PosixSpawner spawner_;
  asio::signal_set signals_;
  InstanceVerifier verifier_;
  std::optional<FileLock> lock_;
  std::optional<History> history_;
  nlohmann::json last_verification_;                      // null until an instance was verified (or failed to be)
  std::vector<ControlServer::Responder> verify_waiters_;  // `verify` requests, answered with the result
  InstanceState last_state_ = InstanceState::stopped;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<InstanceController> controller_;
  int instance_seq_ = 0;
  bool notified_ready_ = false;
  bool stopping_ = false;
  bool exiting_ = false;
};

}  // namespace

int run_daemon(Config config, ConfigLoader reload) {
  // A client that hangs up mid-answer must cost an EPIPE, not the supervisor. Children
  // get default dispositions back at spawn (POSIX_SPAWN_SETSIGDEF).
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(std::move(config), std::move(reload));
  return daemon.run();
}

}  // namespace agentron
