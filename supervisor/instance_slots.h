// The instances the supervisor runs, one slot each: the current (serving) one, during
// a handover the candidate (its new one) and then the retiring one (the old one,
// stopping after the switch), and leftovers an earlier supervisor left running, which
// are stopped. A slot is an InstanceController with the release it runs, its port and
// its role; the role names its instance record (.supervisor/<role>.json), which is
// kept in step with the process so a SIGKILLed supervisor's successor finds it.
//
// InstanceSlots makes the slots (spawn specs, readiness probes, ports, instance ids),
// keeps their records, writes the ledger rows of retiring and leftover instances, and
// routes every other state change to SlotEvents: the daemon's for the current
// instance, the handover driver's for the candidate.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "history/history.h"
#include "launcher/posix_spawner.h"
#include "supervisor/instance_controller.h"
#include "supervisor/instance_record.h"
#include "supervisor/release_store.h"

namespace agentron {

struct Slot {
  SlotRole role = SlotRole::current;
  ReleaseInfo release;
  int port = 0;
  std::unique_ptr<InstanceController> controller;
  InstanceState last_state = InstanceState::stopped;
};

// Restarts nothing: for a handover's new instance and instances being stopped.
RestartConfig never_restart();

// A ledger row about an instance of `slot` (nullptr: none).
HistoryEvent instance_event(std::string kind, const Slot* slot, std::string instance_id, pid_t pid, std::string detail);

// The ledger row kind for a state change ("" for none).
const char* ledger_event_for(InstanceState previous, const InstanceStatus& s);

// Called after the slot's record is written (or removed) for the change.
class SlotEvents {
 public:
  virtual ~SlotEvents() = default;
  virtual void on_current_change(Slot& slot, InstanceState previous, const InstanceStatus& s) = 0;
  virtual void on_candidate_change(Slot& slot, const InstanceStatus& s) = 0;
};

class InstanceSlots {
 public:
  using Note = std::function<void(HistoryEvent)>;
  // `config` is the daemon's, read anew at each use (a reload changes it); it and
  // the other references outlive the slots. `note` writes a ledger row.
  InstanceSlots(boost::asio::io_context& io, Clock& clock, PosixSpawner& spawner, const Config& config, Note note);
  void set_events(SlotEvents* events) { events_ = events; }

  // REQUIRES: no current slot yet. The instance that will serve, on a free port.
  void create_current(ReleaseInfo release);
  Slot& current() { return *current_; }
  const Slot& current() const { return *current_; }
  Slot* candidate() { return candidate_.get(); }
  Slot* retiring() { return retiring_.get(); }

  // A handover's new instance from `release`, started; on the alternate port (without
  // [proxy]) or a free one of the range.
  Slot& start_candidate(ReleaseInfo release);
  // Stops the candidate (if any) and lets it go; then `done`.
  void stop_candidate(std::function<void()> done);
  // The switch: the candidate becomes current and the current one retiring, with
  // their records rewritten in that order. REQUIRES: a candidate.
  void promote_candidate();
  // Stops the retiring instance (or, with none, the current one: stop-first); then `done`.
  void stop_old(std::function<void()> done);

  // An instance an earlier supervisor left running, to be stopped by stop_leftovers.
  void add_leftover(SlotRole role, InstanceRecord record);
  void stop_leftovers();

  // Re-applies [health] and [restart] after a reload (the current slot).
  void apply_config();
  // Every controller there is: for a shutdown that stops them all.
  std::vector<InstanceController*> all_controllers();
  // The instance ids any slot uses (their folders are not pruned).
  std::vector<std::string> instance_ids_in_use() const;

 private:
  std::unique_ptr<Slot> make_slot(SlotRole role, ReleaseInfo release, int port, RestartConfig restart);
  void apply_health_config(Slot& slot);
  SpawnSpec spawn_spec(const Slot& slot, const std::string& id);
  std::string new_instance_id();
  int free_instance_port() const;
  void on_slot_change(Slot& slot, const InstanceStatus& s);
  void on_old_change(Slot& slot, InstanceState previous, const InstanceStatus& s);
  void record(const Slot& slot, const InstanceStatus& s);
  // A controller may be the one whose callback is running: it goes on the next turn.
  void post_destroy(std::unique_ptr<Slot> slot);

  boost::asio::io_context& io_;
  Clock& clock_;
  PosixSpawner& spawner_;
  const Config& config_;
  Note note_;
  SlotEvents* events_ = nullptr;
  std::unique_ptr<Slot> current_;
  std::unique_ptr<Slot> candidate_;
  std::unique_ptr<Slot> retiring_;
  struct Leftover {
    std::unique_ptr<Slot> slot;
    InstanceRecord record;
  };
  std::vector<Leftover> leftovers_;
  int instance_seq_ = 0;
};

}  // namespace agentron
