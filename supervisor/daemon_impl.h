// The supervisor daemon's insides (supervisor/daemon.h is its one-function face):
// one Asio loop; the instance slots (the current instance, and during a handover the
// new one and then the retiring old one); readiness and verification; the ledger; the
// control socket; the restart-request intake and the handover it runs.
//
// daemon.cpp holds the instance lifecycle and the control socket, daemon_handover.cpp
// the requests and the HandoverSteps the Handover machine acts through.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio_clock.h"
#include "common/file_lock.h"
#include "config/config.h"
#include "control/control_server.h"
#include "history/history.h"
#include "launcher/posix_spawner.h"
#include "supervisor/daemon.h"
#include "supervisor/handover.h"
#include "supervisor/instance_controller.h"
#include "supervisor/instance_record.h"
#include "supervisor/instance_verifier.h"
#include "supervisor/reconcile_plan.h"
#include "supervisor/release_store.h"
#include "supervisor/request_intake.h"
#include "supervisor/rollback_policy.h"
#include "supervisor/tcp_front.h"

namespace agentron {

// One line of instances: the controller that restarts it, the release it runs from,
// its port, and its role — "current", "candidate" (a handover's new instance) or
// "retiring" (the old one, stopping after a switch). The role names its record file.
struct Slot {
  std::string role;
  ReleaseInfo release;
  int port = 0;
  std::unique_ptr<InstanceController> controller;
  InstanceState last_state = InstanceState::stopped;
};

// Restarts nothing: for a handover's new instance and instances being stopped.
RestartConfig never_restart();

class Daemon : private HandoverSteps, private ControlActions {
 public:
  Daemon(Config config, ConfigLoader reload);
  ~Daemon() override;
  int run();

 private:
  // daemon.cpp: lifecycle
  Status prepare();
  std::unique_ptr<Slot> make_slot(std::string role, ReleaseInfo release, int port, RestartConfig restart);
  void apply_health_config(Slot& slot);
  std::unique_ptr<Probe> make_probe(const std::string& id, int port, const std::filesystem::path& release);
  SpawnSpec spawn_spec(const Slot& slot, const std::string& id);
  std::string new_instance_id();
  void on_slot_change(Slot& slot, const InstanceStatus& s);
  // The serving instance changed state: ledger, records, the front, verification,
  // and probation's switch-back.
  void on_current_change(Slot& slot, InstanceState previous, const InstanceStatus& s);
  void record_instance(const Slot& slot, const InstanceStatus& s);
  HistoryEvent release_event(std::string kind, const Slot* slot, std::string instance_id, pid_t pid,
                             std::string detail);
  void note(HistoryEvent e);
  void switch_back_if_on_probation(const InstanceStatus& s);
  void start_verification(const InstanceStatus& s);
  void on_verified(const VerificationResult& r);
  void cancel_verification(const InstanceStatus& s);
  void clean_interrupted_snapshots();
  void wait_for_signal();
  void shut_down(int signo);
  void reload();
  // Runs the loop until it is stopped. A handler that throws (a bug) is logged and
  // the loop goes on: the app it supervises must not be orphaned by one bad event.
  void run_loop();

  // daemon_control.cpp: the control requests (control/protocol.h)
  void act(const StatusRequest& r, Responder respond) override;
  void act(const VerifyRequest& r, Responder respond) override;
  void act(const StopRequest& r, Responder respond) override;
  void act(const StartRequest& r, Responder respond) override;
  void act(const ApproveRequest& r, Responder respond) override;
  void act(const DenyRequest& r, Responder respond) override;
  void act(const RollbackRequest& r, Responder respond) override;
  // A request the supervisor cannot take while it shuts down: answered and true.
  bool refuse_while_stopping(const Responder& respond);
  // The handover awaiting approval if it is `id`'s; else answers no_such_request.
  Handover* awaiting_approval(const std::string& id, const Responder& respond);
  // Answers a control request with the status (status_json), once the front's thread
  // gave its part — at once without a front, and after 1 s without its part.
  void respond_with_status(Responder respond);
  nlohmann::json status_json(nlohmann::json front);
  void post_destroy(std::unique_ptr<Slot> slot);
  int free_instance_port() const;

  // daemon_handover.cpp: requests and the handover's steps
  Status open_intake();
  void on_request_file(const std::filesystem::path& file, Status trusted);
  void reject_request(const std::filesystem::path& file, const std::string& id, const std::string& reason,
                      const std::string& text = "");
  void on_handover_finished(HandoverPhase outcome, const std::string& reason);
  nlohmann::json handover_json();
  void on_candidate_change(Slot& slot, const InstanceStatus& s);
  void reconcile();
  Result<std::string> start_rollback(const std::string& why, const std::string& requested_by);
  void start_handover(RestartRequest request, std::optional<ReleaseInfo> existing);
  void stop_leftovers();
  ReleaseInfo load_current_release();
  ReleaseStore release_store() const;

  void build_release(const RestartRequest& request, Then<ReleaseInfo> then) override;
  void take_snapshot(Then<std::string> then) override;
  void count_live(Then<Counts> then) override;
  void start_new(const ReleaseInfo& release, std::function<void(const std::filesystem::path&)> started,
                 Then<NewInstance> then) override;
  void stop_new(std::function<void()> done) override;
  void stop_old(std::function<void()> done) override;
  void start_old(std::function<void()> done) override;
  void restore_lost_rows(const std::string& snapshot, Then<std::string> then) override;
  void restore_snapshot(const std::string& snapshot, Then<std::string> then) override;
  Status make_current(const ReleaseInfo& release) override;
  void journal(HandoverPhase phase, const std::string& detail) override;

  Config config_;
  ConfigLoader reload_;
  std::filesystem::path config_path_;  // absolute, for agentron-fork
  boost::asio::io_context io_{1};      // one thread runs it (workers only post to it)
  AsioClock clock_;
  ChildReaper reaper_;
  PosixSpawner spawner_;
  boost::asio::signal_set signals_;
  InstanceVerifier verifier_;            // the current instance
  InstanceVerifier candidate_verifier_;  // a handover's new instance
  Probation probation_;                  // after a switch: a crash switches back
  boost::asio::thread_pool worker_{1};   // snapshots and baseline counts: never on the loop
  std::optional<FileLock> lock_;
  std::optional<History> history_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<RequestIntake> intake_;
  std::unique_ptr<TcpFront> front_;  // [proxy]: the public port
  std::unique_ptr<Slot> current_;
  std::unique_ptr<Slot> candidate_;
  std::unique_ptr<Slot> retiring_;
  struct Leftover {
    std::unique_ptr<Slot> slot;
    InstanceRecord record;
  };
  std::vector<Leftover> leftovers_;              // found running at start, to be stopped
  std::optional<InstanceRecord> adopt_current_;  // found serving at start: taken over, not restarted
  std::unique_ptr<Handover> handover_;
  std::optional<HistoryRequest> last_request_;  // the handover in flight or the last one, for status
  Then<NewInstance> candidate_then_;
  std::function<void(const std::filesystem::path&)> candidate_started_;
  pid_t fork_pid_ = 0;  // a running `agentron-fork release`
  nlohmann::json last_verification_;
  std::vector<Responder> verify_waiters_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // worker results posted after the end are dropped
  int instance_seq_ = 0;
  bool notified_ready_ = false;
  bool stopping_ = false;
  bool exiting_ = false;
};

}  // namespace agentron
