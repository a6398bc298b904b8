#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "api/api_token.h"
#include "backup/catalog.h"
#include "common/private_dir.h"
#include "common/remove_tree.h"
#include "common/unique_fd.h"
#include "common/utc_time.h"
#include "config/placeholders.h"
#include "healthcheck/http_probe.h"
#include "healthcheck/record_probe.h"
#include "launcher/instance_spec.h"
#include "launcher/run_as.h"
#include "supervisor/daemon_impl.h"
#include "supervisor/data_dir_lock.h"
#include "supervisor/instance_record.h"
#include "supervisor/sd_notify.h"
#include "supervisor/status_json.h"

namespace agentron {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

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
  // app/ below each is the app's user's to write: removed without following a link.
  for (size_t i = 0; i + static_cast<size_t>(keep) <= dirs.size(); ++i) (void)remove_tree(dirs[i].second);
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

}  // namespace

Daemon::Daemon(Config config, ConfigLoader reload)
    : config_(std::move(config)),
      reload_(std::move(reload)),
      clock_(io_),
      reaper_(io_),
      spawner_(reaper_, executable_dir() / "agentron-log"),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      verifier_(io_, clock_),
      slots_(io_, clock_, spawner_, config_, [this](HistoryEvent e) { note(std::move(e)); }) {
  slots_.set_events(this);
}

// The worker's tasks use the driver: they finish before it goes. What they post back
// is never run (the loop has stopped).
Daemon::~Daemon() { worker_.join(); }

int Daemon::run() {
  if (auto s = prepare(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  Slot& current = slots_.current();
  spdlog::info("supervising data dir {} (config {}); release {}", config_.app.data_dir.string(), config_.source,
               current.release.dir.string());
  for (const auto& w : config_.warnings) spdlog::warn("{}", w);
  note(instance_event(event::supervisor_started, &current, "", ::getpid(), "config " + config_.source));
  signals_.add(SIGUSR2);  // rescan requests/
  wait_for_signal();
  slots_.stop_leftovers();
  if (!adopt_current_ || !current.controller->adopt(adopt_current_->pid, adopt_current_->instance_id)) {
    if (adopt_current_) spdlog::error("{}; starting a new instance", current.controller->status().reason);
    current.controller->start();
  }
  driver_->rescan_requests();  // requests written while no supervisor ran
  run_loop();
  note(instance_event(event::supervisor_stopped, &slots_.current(), "", ::getpid(), ""));
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

// [app] user: a data dir the supervisor creates is the app's (it writes its DB there).
// One that exists is left as the operator made it.
Status Daemon::give_data_dir_to_app_user() {
  if (config_.app.user.empty()) return ok_status();
  auto who = resolve_run_as(config_.app.user, config_.app.group);
  if (!who) return who.error();
  if (::chown(config_.app.data_dir.c_str(), who->uid, who->gid) != 0) {
    return errno_error("chown_failed",
                       "cannot give the data dir " + config_.app.data_dir.string() + " to [app] user " + who->user,
                       errno);
  }
  return ok_status();
}

// The supervisor's own folders. With [app] user they must be out of that user's reach
// — theirs, and every folder above them (docs/security.md) — except for the two the
// app may pass through: the state dir and instances/ (0711), to reach requests/ and
// instances/<id>/app/, which are the app's.
Status Daemon::prepare_state_dirs() {
  fs::path state = state_dir(config_.app);
  if (config_.app.user.empty()) {
    if (auto s = make_dir(state, 0700); !s) return s;
    return make_dir(state / "instances", 0700);
  }
  if (auto s = make_private_dir(state, 0711); !s) return s;
  if (auto s = make_private_dir(state / "instances", 0711); !s) return s;
  return make_private_dir(config_.backup.dir, 0700);
}

Status Daemon::prepare() {
  if (!config_.app.user.empty()) {  // said at start, not at the first spawn
    auto who = resolve_run_as(config_.app.user, config_.app.group);
    if (!who) return who.error();
    if (auto can = check_can_run_as(*who); !can) return can;
  }
  std::error_code ec;
  if (!fs::exists(config_.app.data_dir, ec)) {
    spdlog::info("creating data dir {}", config_.app.data_dir.string());
    fs::create_directories(config_.app.data_dir, ec);
    if (ec)
      return Error{"mkdir_failed", "cannot create data dir " + config_.app.data_dir.string() + ": " + ec.message()};
    if (auto s = give_data_dir_to_app_user(); !s) return s;
  }
  fs::path helper = executable_dir() / "agentron-log";
  if (::access(helper.c_str(), X_OK) != 0) {
    return errno_error("install_broken",
                       "cannot run the log helper " + helper.string() + " (it is installed beside agentron-supervisor)",
                       errno);
  }
  if (!config_.source.empty() && config_.source.front() != '<') config_path_ = fs::absolute(config_.source);
  fs::path state = state_dir(config_.app);
  if (auto s = prepare_state_dirs(); !s) return s;
  auto lock = lock_data_dir(config_.app);
  if (!lock) return lock.error();
  lock_.emplace(std::move(lock.value()));
  auto history = History::open(history_path(state));
  if (!history) return history.error();
  history_.emplace(std::move(history.value()));
  driver_ = std::make_unique<HandoverDriver>(
      DriverContext{io_, clock_, reaper_, config_, config_path_, *history_, slots_, worker_,
                    [this](HistoryEvent e) { note(std::move(e)); }, [this] { last_verification_ = nullptr; }});
  // Two Agentrons on one data dir would both write the DB and both run the scheduler
  // (docs/architecture.md): what an earlier supervisor left running is taken over or stopped.
  adopt_current_ = driver_->reconcile();
  if (auto last = history_->last_of({event::verified, event::verification_failed}); last && *last) {
    last_verification_ = verification_json(**last);
  }

  clean_interrupted_snapshots();
  auto control = ControlServer::listen(io_, state / "control.sock", static_cast<ControlActions&>(*this));
  if (!control) return control.error();
  control_ = std::move(control.value());
  if (auto s = open_control_api(); !s) return s;
  if (config_.fork.configured) {
    if (auto s = driver_->open_intake(); !s) return s;
  }
  if (auto s = open_front(); !s) return s;
  slots_.create_current(driver_->current_release());  // after the front: its port must be free
  return ok_status();
}

Status Daemon::open_front() {
  if (!config_.proxy.configured) return ok_status();
  long files = raise_open_files_limit();
  auto front = TcpFront::open(config_.proxy, io_.get_executor());
  if (!front) return front.error();
  front_ = std::move(front.value());
  driver_->set_front(front_.get());
  spdlog::info("front: listening on {}:{}, instances on ports {}-{} (open files limit {})", config_.proxy.listen_host,
               config_.proxy.listen_port, config_.proxy.first_port, config_.proxy.last_port, files);
  return ok_status();
}

Status Daemon::open_control_api() {
  if (!config_.control.configured) return ok_status();
  auto token = load_or_create_api_token(config_.control.token_file);
  if (!token) return token.error();
  auto operator_token = load_or_create_api_token(config_.control.operator_token_file);
  if (!operator_token) return operator_token.error();
  if (operator_token.value() == token.value()) {
    return Error{"bad_token",
                 "[control] operator_token_file and token_file hold the same token: the agent would "
                 "hold the operator's; delete " +
                     config_.control.operator_token_file.string() + " to have a new one made at the next start"};
  }
  long files = raise_open_files_limit();  // a descriptor per connection
  api_ = std::make_unique<ControlApi>(
      ControlApiContext{io_, clock_, reaper_, worker_, config_, config_path_, static_cast<ControlActions&>(*this),
                        [this](const std::string& id, std::function<void(Result<std::string>)> then) {
                          driver_->when_taken(id, std::move(then));
                        },
                        [this] { return driver_->can_take_request(); }});
  mcp_ = std::make_unique<McpEndpoint>(io_, clock_, *api_, config_.control);
  web_ = std::make_unique<WebUi>(clock_, config_, config_path_, *api_);
  auto handler = [this](const HttpRequest& r, std::shared_ptr<HttpResponder> responder) {
    if (McpEndpoint::owns(r.path)) return mcp_->handle(r, std::move(responder));
    if (WebUi::serves(r)) return web_->handle(r, std::move(responder));
    ApiRequest request{r.role, std::string(http::to_string(r.method)), r.path, parse_query(r.query), r.body};
    api_->handle(request, [responder](ApiResponse answer) {
      responder->respond(json_response(static_cast<http::status>(answer.status), answer.body));
    });
  };
  control_options_ = listener_options(config_.control, std::move(token.value()), std::move(operator_token.value()));
  control_options_.token_exempt = &WebUi::serves;
  control_options_.capability_prefix = McpEndpoint::kCapabilityPrefix;
  control_handler_ = std::move(handler);
  open_files_ = files;
  return bind_control_api();
}

// The API's port may be held by another process — the app's user, even, while the
// supervisor was down (docs/security.md): the app is supervised all the same, and the
// port is tried again every 2 s until it is free.
Status Daemon::bind_control_api() {
  auto api = HttpListener::listen(io_, control_options_, control_handler_);
  if (!api && api.error().code == "control_api_port_taken") {
    if (control_api_problem_ != api.error().message) {
      spdlog::error("{}; the app is supervised without the API, which tries again every 2s", api.error().message);
    }
    control_api_problem_ = api.error().message;
    control_retry_ = clock_.start_timer(std::chrono::seconds(2), [this] {
      if (auto s = bind_control_api(); !s) spdlog::error("{}", s.error().message);
    });
    return ok_status();
  }
  if (!api) return api.error();
  control_api_ = std::move(api.value());
  control_api_problem_.clear();
  spdlog::info("control API: listening on {} (max_connections {}, open files limit {})", control_api_->address(),
               config_.control.max_connections, open_files_);
  return ok_status();
}

// One row in the ledger. A ledger that cannot be written is logged loudly, but the
// app keeps being supervised: stopping it would not make the record come back.
void Daemon::note(HistoryEvent e) {
  if (!history_) return;
  if (auto id = history_->record(std::move(e)); !id) spdlog::error("history: {}", id.error().message);
}

void Daemon::on_candidate_change(Slot& slot, const InstanceStatus& s) { driver_->on_candidate_change(slot, s); }

void Daemon::on_current_change(Slot& slot, InstanceState previous, const InstanceStatus& s) {
  // The ledger first: whoever saw a log line can find its row.
  if (const char* kind = ledger_event_for(previous, s); *kind)
    note(instance_event(kind, &slot, s.instance_id, s.pid, s.reason));
  switch (s.state) {
    case InstanceState::starting: {
      spdlog::info("instance {} started, pid {}", s.instance_id, s.pid);
      // After the start, not before: a restart waits for nothing but the exec.
      prune_instance_dirs(state_dir(config_.app) / "instances", config_.app.keep_instances,
                          slots_.instance_ids_in_use());
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
      driver_->on_current_crashed(s);
      spdlog::warn("{}; restarting in {} (restart {})", s.reason,
                   format_duration(std::chrono::round<std::chrono::milliseconds>(s.next_restart_in)), s.restart_count);
      break;
    case InstanceState::failed:
      driver_->on_current_crashed(s);
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

void Daemon::start_verification(const InstanceStatus& s) {
  VerifyTarget target{s.instance_id, s.pid, utc_iso8601(s.started_at), slots_.current().release.commit,
                      instance_paths(config_.app, s.instance_id).record_for(config_.health.verification)};
  verifier_.verify(config_, target, [this](VerificationResult r) { on_verified(r); });
}

void Daemon::on_verified(const VerificationResult& r) {
  if (config_.health.verification == VerificationKind::none) {
    for (auto& respond : std::exchange(verify_waiters_, {})) respond(ok_response({{"ok", true}, {"detail", r.reason}}));
    return;
  }
  HistoryEvent e = instance_event(r.ok ? event::verified : event::verification_failed, &slots_.current(), r.instance_id,
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
      auto dir = driver_->requests_dir();
      spdlog::info("SIGUSR2: rescanning {}", dir ? dir->string() : "(no [fork]: no requests)");
      driver_->rescan_requests();
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
  driver_->shut_down();
  if (api_) api_->shut_down();
  control_retry_.reset();
  // Everything that runs stops; the supervisor exits when the last one is gone.
  auto remaining = std::make_shared<int>(0);
  auto one_done = [this, remaining] {
    if (--*remaining > 0) return;
    exiting_ = true;
    signals_.cancel();
    control_.reset();
    control_api_.reset();
    front_.reset();
    driver_->set_front(nullptr);
    io_.stop();
  };
  std::vector<InstanceController*> all = slots_.all_controllers();
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
    slots_.apply_config();
    InstanceController& c = *slots_.current().controller;
    spdlog::info("config reloaded; [app] changes apply from the next start of the app");
    if (c.status().state == InstanceState::failed && !stopping_) {
      spdlog::info("the app had failed: starting it again with the reloaded config");
      c.start();
    }
  }
  sd_notify("READY=1");
}

int run_daemon(Config config, ConfigLoader reload) {
  // A client that hangs up mid-answer must cost an EPIPE, not the supervisor. Children
  // get default dispositions back at spawn (POSIX_SPAWN_SETSIGDEF).
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(std::move(config), std::move(reload));
  return daemon.run();
}

}  // namespace agentron
