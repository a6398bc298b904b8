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
#include "launcher/instance_spec.h"
#include "launcher/posix_spawner.h"
#include "supervisor/control_server.h"
#include "supervisor/data_dir_lock.h"
#include "supervisor/instance_controller.h"
#include "supervisor/instance_record.h"
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
        signals_(io_, SIGTERM, SIGINT, SIGHUP) {}

  int run() {
    if (auto s = prepare(); !s) {
      spdlog::error("{}", s.error().message);
      return 1;
    }
    spdlog::info("supervising data dir {} (config {}); release {}", config_.app.data_dir.string(), config_.source,
                 config_.app.release.string());
    for (const auto& w : config_.warnings) spdlog::warn("{}", w);
    wait_for_signal();
    controller_->start();
    io_.run();
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
    return ok_status();
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

  void log_change(const InstanceStatus& s) {
    switch (s.state) {
      case InstanceState::running:
        // Recorded before it is announced: whoever saw "started" can rely on the record.
        if (auto ticks = process_start_ticks(s.pid)) {
          write_instance_record(state_dir(config_.app), {s.instance_id, s.pid, *ticks});
        }
        spdlog::info("instance {} started, pid {}", s.instance_id, s.pid);
        // Until readiness probes exist, "started" is as ready as the supervisor can tell.
        if (!notified_ready_) sd_notify("READY=1");
        notified_ready_ = true;
        // After the start, not before: a restart waits for nothing but the exec.
        prune_instance_dirs(state_dir(config_.app) / "instances", config_.app.keep_instances, s.instance_id);
        break;
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
    respond(error_response("unknown_method",
                           "unknown method '" + method + "'; this supervisor knows: status, stop, start"));
  }

  nlohmann::json status_json() {
    nlohmann::json j = to_json(controller_->status());
    j["supervisor_pid"] = ::getpid();
    j["config"] = config_.source;
    j["data_dir"] = config_.app.data_dir.string();
    j["release"] = config_.app.release.string();
    j["commit"] = release_commit(config_.app.release);
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
  std::optional<FileLock> lock_;
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
