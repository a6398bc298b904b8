// .supervisor/current.json: which instance this data dir's supervisor has running,
// by pid *and* start time (a pid alone may have been reused). Written when an
// instance starts, removed when it is gone. A supervisor that finds a record whose
// process still runs knows an earlier supervisor died and left its app serving.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace agentron {

// An instance's role; it names the record file (current.json, ...): "current" is
// the serving instance, "candidate" a handover's new one, "retiring" the old one
// being stopped after a switch, "orphan" one found running without a record.
enum class SlotRole { current, candidate, retiring, orphan };
const char* to_string(SlotRole role);

struct InstanceRecord {
  std::string instance_id;
  pid_t pid = 0;
  unsigned long long start_ticks = 0;  // /proc/<pid>/stat field 22
};

// The start time of a live (non-zombie) process, or nullopt if there is none.
std::optional<unsigned long long> process_start_ticks(pid_t pid);

// A SIGKILLed supervisor leaves these behind; each names a process that may still run.
void write_instance_record(const std::filesystem::path& state_dir, const InstanceRecord& record,
                           SlotRole role = SlotRole::current);
void remove_instance_record(const std::filesystem::path& state_dir, SlotRole role = SlotRole::current);

// The recorded instance if it still runs (same pid, same start time); else nullopt.
std::optional<InstanceRecord> live_recorded_instance(const std::filesystem::path& state_dir,
                                                     SlotRole role = SlotRole::current);
// Instances of this data dir that run without a record: group leaders whose
// environment has AGENTRON_DATA_DIR=<data_dir> and an AGENTRON_INSTANCE_ID (every
// instance gets both). A supervisor killed between spawning an instance and writing
// its record leaves one; this finds it.
std::vector<InstanceRecord> unrecorded_instances(const std::filesystem::path& data_dir,
                                                 const std::vector<pid_t>& recorded);

// Every recorded instance of any role that still runs.
std::vector<InstanceRecord> live_recorded_instances(const std::filesystem::path& state_dir);

}  // namespace agentron
