// The restart-from-fork side of the supervisor: it takes restart requests (the
// requests/ folder), approvals and rollbacks, runs one Handover at a time, and carries
// out its steps (HandoverSteps): building the release with agentron-fork, snapshots
// and counts on the worker thread, the new instance through InstanceSlots, the switch
// (current-release.json first, then the records, then the front), the journal. It
// also owns what follows a switch — probation's switch-back — and what precedes
// everything — reconciling what a SIGKILLed supervisor left (reconcile_plan.h).
//
// The decisions are not here: Handover (handover.h) sequences the phases, and
// rollback_policy.h judges a new instance and a crash on probation.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/lazy_worker.h"
#include "config/config.h"
#include "history/history.h"
#include "launcher/posix_spawner.h"
#include "supervisor/handover.h"
#include "supervisor/instance_slots.h"
#include "supervisor/instance_verifier.h"
#include "supervisor/release_store.h"
#include "supervisor/request_intake.h"
#include "supervisor/rollback_policy.h"
#include "supervisor/tcp_front.h"
#include "supervisor/test_pause_point.h"

namespace agentron {

// The daemon's parts the driver works with; all outlive it.
struct DriverContext {
  boost::asio::io_context& io;
  Clock& clock;
  ChildReaper& reaper;
  const Config& config;               // the daemon's: a reload changes it
  std::filesystem::path config_path;  // absolute, for agentron-fork; empty for an embedded config
  History& history;
  InstanceSlots& slots;
  LazyWorker& worker;  // snapshots, counts, restores: never on the loop
  std::function<void(HistoryEvent)> note;
  std::function<void()> switched;  // the candidate is current now
};

class HandoverDriver : private HandoverSteps {
 public:
  explicit HandoverDriver(DriverContext context);
  ~HandoverDriver() override;

  // The front, once it listens ([proxy]); null without one.
  void set_front(TcpFront* front) { front_ = front; }
  // Watches requests/ ([fork] configured).
  Status open_intake();
  // Requests written while no supervisor ran, and SIGUSR2's rescan.
  void rescan_requests();
  // Calls `then` once, when the request file named `id` (<id>.json) has been taken from
  // the requests folder: with the phase its handover is in then (awaiting_approval,
  // building_release, ...), or with why it was refused — handover_in_flight,
  // shutting_down, cannot_verify, or request_rejected. For whoever wrote the file and
  // answers with what became of it (the control API). A file never taken never calls.
  void when_taken(const std::string& id, std::function<void(Result<std::string>)> then);
  const std::filesystem::path* requests_dir() const;

  // At start, before the current instance: what an earlier supervisor left is
  // judged; the instance to keep serving is returned (the caller adopts it), the
  // others are queued for stop_leftovers, and an unfinished request is finished.
  std::optional<InstanceRecord> reconcile();
  // The release a (re)started supervisor runs: the last one a handover made current,
  // if it is still there; else [app] release.
  ReleaseInfo current_release() const;

  // The request awaiting approval, if it is `id`'s; else an Error (no_such_request).
  Status approve(const std::string& id);
  Status deny(const std::string& id, const std::string& reason);
  // Back to the release before the current one, by the same verified path. → its id.
  Result<std::string> start_rollback(const std::string& why, const std::string& requested_by);
  // The current instance exited or failed: within probation of a switch, switch back.
  void on_current_crashed(const InstanceStatus& s);
  // The supervisor stops: a running build is stopped and the handover ends, journaled.
  void shut_down();

  // The candidate's state changes (InstanceSlots routes them here, via the daemon).
  void on_candidate_change(Slot& slot, const InstanceStatus& s);

  // For status: the handover in flight, or the last request (null: none yet).
  nlohmann::json handover_json() const;

  // handover_in_flight while a handover is in flight (the message names it), else ok.
  Status can_take_request() const;

 private:
  void on_request_file(const std::filesystem::path& file, Result<std::string> read);
  void reject_request(const std::filesystem::path& file, const std::string& id, const std::string& reason,
                      const std::string& text = "", const char* code = "request_rejected");
  void tell_taken(const std::string& id, Result<std::string> outcome);
  void start_handover(RestartRequest request, std::optional<ReleaseInfo> existing);
  void on_handover_finished(HandoverPhase outcome, const std::string& reason);
  Handover* awaiting_approval(const std::string& id, Status& error);
  bool in_flight() const;
  ReleaseStore release_store() const;
  void verify_candidate(Slot& slot, const InstanceStatus& s);
  void finish_candidate(Slot& slot, const InstanceStatus& s);

  // HandoverSteps
  void build_release(const RestartRequest& request, Then<ReleaseInfo> then) override;
  void take_snapshot(Then<std::string> then) override;
  void count_live(Then<Counts> then) override;
  void count_busy(Then<std::int64_t> then) override;
  void start_new(const ReleaseInfo& release, std::function<void(const std::filesystem::path&)> started,
                 Then<NewInstance> then) override;
  void stop_new(std::function<void()> done) override;
  void stop_old(std::function<void()> done) override;
  void start_old(std::function<void()> done) override;
  void restore_lost_rows(const std::string& snapshot, Then<std::string> then) override;
  void restore_snapshot(const std::string& snapshot, Then<std::string> then) override;
  Status make_current(const ReleaseInfo& release) override;
  void journal(HandoverPhase phase, const std::string& detail) override;

  DriverContext c_;
  TcpFront* front_ = nullptr;
  InstanceVerifier candidate_verifier_;
  Probation probation_;
  std::unique_ptr<RequestIntake> intake_;
  std::unique_ptr<Handover> handover_;
  std::optional<HistoryRequest> last_request_;  // the handover in flight or the last one, for status
  std::map<std::string, std::function<void(Result<std::string>)>> taken_waiters_;  // when_taken, by request id
  Then<NewInstance> candidate_then_;
  std::function<void(const std::filesystem::path&)> candidate_started_;
  pid_t fork_pid_ = 0;                                                    // a running `agentron-fork release`
  const TestPausePoint test_pause_ = TestPausePoint::from_environment();  // tests only
  bool stopping_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // worker results posted after the end are dropped
};

}  // namespace agentron
