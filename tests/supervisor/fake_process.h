// A fake process table for the state-machine tests: spawns record their spec,
// signals are recorded, and the test decides when a process exits.
#pragma once

#include <csignal>
#include <string>
#include <vector>

#include "launcher/process.h"

namespace agentron::testing {

class FakeProcess : public Process {
 public:
  FakeProcess(pid_t pid, ProcessObserver& observer) : pid_(pid), observer_(observer) {}
  pid_t pid() const override { return pid_; }
  void signal_group(int signo) override { signals.push_back(signo); }

  // The leader exits; `leftovers` says whether other group members remain.
  void exit(ExitStatus status, bool leftovers = false) { observer_.on_leader_exit(status, !leftovers); }
  void leftovers_gone() { observer_.on_group_empty(); }

  std::vector<int> signals;

 private:
  pid_t pid_;
  ProcessObserver& observer_;
};

class FakeSpawner : public Spawner {
 public:
  Result<std::unique_ptr<Process>> spawn(const SpawnSpec& spec, ProcessObserver& observer) override {
    specs.push_back(spec);
    if (!fail_with.empty()) return Error{"spawn_failed", fail_with};
    auto process = std::make_unique<FakeProcess>(next_pid_++, observer);
    last = process.get();
    return std::unique_ptr<Process>(std::move(process));
  }

  Result<std::unique_ptr<Process>> adopt(pid_t pid, ProcessObserver& observer) override {
    adopted.push_back(pid);
    auto process = std::make_unique<FakeProcess>(pid, observer);
    last = process.get();
    return std::unique_ptr<Process>(std::move(process));
  }

  std::vector<pid_t> adopted;
  std::vector<SpawnSpec> specs;  // every attempt, failed ones included
  FakeProcess* last = nullptr;   // the newest live process (owned by the controller)
  std::string fail_with;         // non-empty: spawns fail with this message

 private:
  pid_t next_pid_ = 1000;
};

}  // namespace agentron::testing
