// One restart-from-fork request, from intake to its end (docs/design.md §6):
//
//   requested → [awaiting_approval] → building_release → [waiting_for_idle]
//             → backing_up → starting_new → verifying → switching → stopping_old → done
//   any failure → stop new (if started) → old keeps serving → rolled_back (reason)
//
// `stop-first` stops the old instance after the snapshot and before the new one
// starts; on failure it starts the previous release again (restoring the snapshot
// only if the database fails its integrity check).
//
// The machine decides; HandoverSteps acts (builds, snapshots, starts and stops
// instances, writes the journal). Every phase is journaled before it acts. Time comes
// from a Clock, so the unit tests drive it with a fake clock and fake steps.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "supervisor/release_store.h"
#include "supervisor/restart_request.h"

namespace agentron {

enum class HandoverPhase {
  requested,
  awaiting_approval,
  building_release,
  waiting_for_idle,  // when = "idle": until [handover] idle_query is 0, at most idle_timeout
  backing_up,
  starting_new,
  verifying,
  switching,
  stopping_old,
  done,
  rolled_back,
  rejected,
};
const char* to_string(HandoverPhase phase);
bool is_finished(HandoverPhase phase);

using Counts = std::map<std::string, std::int64_t>;

// A handover's new instance once its verification record came (or the wait for it
// ended): what it saw. Judged by judge_new_instance (supervisor/rollback_policy.h).
struct NewInstance {
  std::string instance_id;
  Counts counts;
  std::string integrity;       // "ok", what the check found, or "" when unknown
  std::filesystem::path logs;  // its instances/<id>/ folder
  std::string unverified;      // why the record failed verification; "" when it passed
};

// What a refused new instance left to repair.
enum class HandoverDamage { none, rows_lost, integrity };

template <typename T>
using Then = std::function<void(Result<T>)>;

class HandoverSteps {
 public:
  virtual ~HandoverSteps() = default;
  // Builds (or reuses) the release of request.commit; a commit not on the fork's
  // branch fails with code "not_on_fork".
  virtual void build_release(const RestartRequest& request, Then<ReleaseInfo> then) = 0;
  virtual void take_snapshot(Then<std::string> then) = 0;  // pre-restart-…-<request id>; → its path
  virtual void count_live(Then<Counts> then) = 0;          // the live DB, read-only
  virtual void count_busy(Then<std::int64_t> then) = 0;    // [handover] idle_query, read-only
  // Starts the new instance from `release`; `then` with what its verification found
  // (passed or not: the machine judges), or an Error if it never got that far (exited,
  // never ready). `started` reports its logs.
  virtual void start_new(const ReleaseInfo& release, std::function<void(const std::filesystem::path& logs)> started,
                         Then<NewInstance> then) = 0;
  virtual void stop_new(std::function<void()> done) = 0;
  virtual void stop_old(std::function<void()> done) = 0;
  virtual void start_old(std::function<void()> done) = 0;  // stop-first's way back
  // After a new instance lost rows (the data dir is shared): puts the rows of the
  // snapshot that are gone back into the live database; → what it did.
  virtual void restore_lost_rows(const std::string& snapshot, Then<std::string> then) = 0;
  // stop-first, after a failed integrity check, with nothing running on the data dir:
  // puts the whole snapshot back (the live data dir is kept aside); → what it did.
  virtual void restore_snapshot(const std::string& snapshot, Then<std::string> then) = 0;
  // Persists `release` as the current one (a supervisor restart starts it) and makes
  // the new instance the supervised one.
  virtual Status make_current(const ReleaseInfo& release) = 0;
  // The journal: called before each phase acts, and with the outcome.
  virtual void journal(HandoverPhase phase, const std::string& detail) = 0;
};

class Handover {
 public:
  using Finished = std::function<void(HandoverPhase outcome, const std::string& reason)>;

  Handover(Clock& clock, HandoverSteps& steps, HandoverConfig config, RestartRequest request, Finished finished);

  // requested → awaiting_approval (require_approval) or building_release.
  void start();
  // A rollback: the release exists already (the previous one), nothing is built and
  // no approval is asked for; the rest is the same verified path. Call before start().
  void use_existing_release(ReleaseInfo release) { existing_release_ = std::move(release); }
  // Only in awaiting_approval; false otherwise.
  bool approve();
  bool deny(const std::string& why);
  // The supervisor is stopping everything: ends the handover now, journaled — done if
  // the switch had happened (the new release is current), else rolled_back.
  void abandon(const std::string& why);

  HandoverPhase phase() const { return phase_; }
  const RestartRequest& request() const { return request_; }
  const std::string& reason() const { return reason_; }
  const std::string& backup() const { return backup_; }
  const Counts& baseline() const { return baseline_; }
  const Counts& verified() const { return verified_; }
  const ReleaseInfo& release() const { return release_; }
  const std::filesystem::path& new_logs() const { return new_logs_; }

 private:
  void enter(HandoverPhase phase, const std::string& detail = "");
  void build();
  void wait_for_idle();
  void check_idle();
  void back_up();
  void take_baseline();
  void start_new();
  void accept(const NewInstance& instance);
  void fail(const std::string& why, HandoverDamage damage = HandoverDamage::none);
  void finish(HandoverPhase outcome, const std::string& reason);

  Clock& clock_;
  HandoverSteps& steps_;
  HandoverConfig config_;
  RestartRequest request_;
  Finished finished_;
  HandoverPhase phase_ = HandoverPhase::requested;
  std::string reason_;
  ReleaseInfo release_;
  std::optional<ReleaseInfo> existing_release_;
  std::string backup_;
  Counts baseline_;
  Counts verified_;
  std::filesystem::path new_logs_;
  bool new_started_ = false;
  bool old_stopped_ = false;
  bool switched_ = false;  // the new release is current
  Timer verify_timer_;
  Timer idle_timer_;           // the next look at idle_query
  TimePoint idle_deadline_{};  // waiting_for_idle ends here, rolled back
  std::int64_t busy_ = -1;     // what idle_query said last
};

// How often a request that waits for idle looks at [handover] idle_query.
inline constexpr Duration kIdlePoll = std::chrono::milliseconds(250);

// Why `verified` does not pass against `baseline`, or "" when every count is there
// and at least as high.
std::string compare_counts(const Counts& baseline, const Counts& verified);

}  // namespace agentron
