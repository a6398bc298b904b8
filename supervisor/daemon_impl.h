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
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio_clock.h"
#include "common/file_lock.h"
#include "common/lazy_worker.h"
#include "config/config.h"
#include "history/history.h"
#include "launcher/posix_spawner.h"
#include "supervisor/control_server.h"
#include "supervisor/daemon.h"
#include "supervisor/handover.h"
#include "supervisor/instance_controller.h"
#include "supervisor/instance_record.h"
#include "supervisor/instance_verifier.h"
#include "supervisor/request_intake.h"
#include "supervisor/tcp_front.h"
#include "supervisor/test_pause_point.h"

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

class Daemon : private HandoverSteps {
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
  void log_current_change(Slot& slot, InstanceState previous, const InstanceStatus& s);
  void record_instance(const Slot& slot, const InstanceStatus& s);
  HistoryEvent release_event(std::string kind, const Slot* slot, std::string instance_id, pid_t pid,
                             std::string detail);
  void note(HistoryEvent e);
  void check_probation(const InstanceStatus& s);
  void start_verification(const InstanceStatus& s);
  void on_verified(const VerificationResult& r);
  void cancel_verification(const InstanceStatus& s);
  void clean_interrupted_snapshots();
  void wait_for_signal();
  void shut_down(int signo);
  void reload();
  void handle(const nlohmann::json& request, ControlServer::Responder respond);
  // Answers a control request with the status (status_json), once the front's thread
  // gave its part — at once without a front, and after 1 s without its part.
  void respond_with_status(ControlServer::Responder respond);
  nlohmann::json status_json(nlohmann::json front);
  void post_destroy(std::unique_ptr<Slot> slot);
  int free_instance_port() const;

  // daemon_handover.cpp: requests and the handover's steps
  Status open_intake();
  void on_request_file(const std::filesystem::path& file, Status trusted);
  void reject_request(const std::filesystem::path& file, const std::string& id, const std::string& reason,
                      const std::string& text = "");
  void on_handover_finished(HandoverPhase outcome, const std::string& reason);
  void handle_approval(const nlohmann::json& request, ControlServer::Responder respond);
  nlohmann::json handover_json();
  void on_candidate_change(Slot& slot, const InstanceStatus& s);
  Status persist_current_release(const ReleaseInfo& release, const ReleaseInfo& previous);
  void reconcile();
  Result<std::string> start_rollback(const std::string& why, const std::string& requested_by);
  void start_handover(RestartRequest request, std::optional<ReleaseInfo> existing);
  void stop_leftovers();
  ReleaseInfo load_current_release();

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
  LazyWorker worker_;                    // snapshots and baseline counts: never on the loop
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
  const TestPausePoint test_pause_ = TestPausePoint::from_environment();  // tests only
  std::optional<HistoryRequest> last_request_;  // the handover in flight or the last one, for status
  Then<NewInstance> candidate_then_;
  std::function<void(const std::filesystem::path&)> candidate_started_;
  pid_t fork_pid_ = 0;           // a running `agentron-fork release`
  TimePoint probation_until_{};  // a crash of the current instance before this switches back
  nlohmann::json last_verification_;
  std::vector<ControlServer::Responder> verify_waiters_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // worker results posted after the end are dropped
  int instance_seq_ = 0;
  bool notified_ready_ = false;
  bool stopping_ = false;
  bool exiting_ = false;
};

}  // namespace agentron
