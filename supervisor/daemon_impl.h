// The supervisor daemon's insides (supervisor/daemon.h is its one-function face). The
// Daemon is wiring: one Asio loop and its signals; the data dir lock and the ledger;
// InstanceSlots (the instances), the HandoverDriver (restart from fork), the front
// ([proxy]) and the control socket. What it decides itself is small: readiness of the
// current instance (sd_notify, the front's target, verification), reload, shutdown.
//
//   daemon.cpp          start, the current instance's changes, signals, reload, shutdown
//   daemon_control.cpp  the control requests (control/protocol.h) and the status
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http_listener.h"
#include "common/asio_clock.h"
#include "common/lazy_worker.h"
#include "config/config.h"
#include "control/control_server.h"
#include "history/history.h"
#include "launcher/posix_spawner.h"
#include "supervisor/control_api.h"
#include "supervisor/daemon.h"
#include "supervisor/data_dir_lock.h"
#include "supervisor/handover_driver.h"
#include "supervisor/instance_slots.h"
#include "supervisor/instance_verifier.h"
#include "supervisor/mcp_endpoint.h"
#include "supervisor/tcp_front.h"
#include "supervisor/test_pause_point.h"
#include "supervisor/web_ui.h"

namespace agentron {

class Daemon : private SlotEvents, private ControlActions {
 public:
  Daemon(Config config, ConfigLoader reload);
  ~Daemon() override;
  int run();

 private:
  // daemon.cpp
  Status prepare();
  Status give_data_dir_to_app_user();
  Status prepare_state_dirs();
  Status open_front();
  Status open_control_api();
  Status bind_control_api();
  // Runs the loop until it is stopped. A handler that throws (a bug) is logged and
  // the loop goes on: the app it supervises must not be orphaned by one bad event.
  void run_loop();
  // The serving instance changed state: ledger, the front, sd_notify, verification,
  // and (on a crash) probation's switch-back.
  void on_current_change(Slot& slot, InstanceState previous, const InstanceStatus& s) override;
  void on_candidate_change(Slot& slot, const InstanceStatus& s) override;
  void note(HistoryEvent e);
  void start_verification(const InstanceStatus& s);
  void on_verified(const VerificationResult& r);
  void cancel_verification(const InstanceStatus& s);
  void clean_interrupted_snapshots();
  void wait_for_signal();
  void shut_down(int signo);
  void reload();

  // daemon_control.cpp: the control requests (control/protocol.h)
  void act(const StatusRequest& r, Responder respond) override;
  void act(const VerifyRequest& r, Responder respond) override;
  void act(const StopRequest& r, Responder respond) override;
  void act(const StartRequest& r, Responder respond) override;
  void act(const ApproveRequest& r, Responder respond) override;
  void act(const DenyRequest& r, Responder respond) override;
  void act(const RollbackRequest& r, Responder respond) override;
  void act(const LoginCodeRequest& r, Responder respond) override;
  // A request the supervisor cannot take while it shuts down: answered and true.
  bool refuse_while_stopping(const Responder& respond);
  // Answers a control request with the status (status_json), once the front's thread
  // gave its part — at once without a front, and after 1 s without its part.
  void respond_with_status(Responder respond);
  nlohmann::json status_json(nlohmann::json front);

  Config config_;
  ConfigLoader reload_;
  std::filesystem::path config_path_;  // absolute, for agentron-fork
  boost::asio::io_context io_{1};      // one thread runs it (workers only post to it)
  AsioClock clock_;
  ChildReaper reaper_;
  PosixSpawner spawner_;
  boost::asio::signal_set signals_;
  InstanceVerifier verifier_;  // the current instance
  LazyWorker worker_;          // snapshots and baseline counts: never on the loop
  std::optional<DataDirLock> lock_;
  std::optional<History> history_;
  InstanceSlots slots_;
  std::unique_ptr<HandoverDriver> driver_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<ControlApi> api_;            // [control]: what the routes do
  std::unique_ptr<McpEndpoint> mcp_;           // [control]: /mcp, the tools over MCP (uses api_)
  std::unique_ptr<WebUi> web_;                 // [control]: the pages, on the same listener
  std::unique_ptr<HttpListener> control_api_;  // [control]: the transport (null while its port is taken)
  HttpListenerOptions control_options_;        // to bind again while the port is taken
  HttpHandler control_handler_;
  Timer control_retry_;
  std::string control_api_problem_;  // why control_api_ is null, for status and the log
  long open_files_ = 0;
  std::unique_ptr<TcpFront> front_;              // [proxy]: the public port
  std::optional<InstanceRecord> adopt_current_;  // found serving at start: taken over, not restarted
  nlohmann::json last_verification_;
  std::vector<Responder> verify_waiters_;
  bool notified_ready_ = false;
  bool stopping_ = false;
  bool exiting_ = false;
};

}  // namespace agentron
