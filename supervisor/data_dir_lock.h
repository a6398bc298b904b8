// One supervisor per data dir: a FileLock on <state_dir>/supervisor.lock (which names
// the holder's pid), and one keyed by the data dir's device and inode in a folder of
// the supervisor's own (/run/agentron-supervisor as root; else $XDG_RUNTIME_DIR or
// /tmp/agentron-supervisor-<uid>) — two supervisors with different state dirs on one
// data dir would otherwise both run the app on it. Not a lock on the data dir itself:
// the app's user could take that one and keep every supervisor out (red team, finding 5).
// Held for the supervisor's life.
#pragma once

#include <filesystem>

#include "common/file_lock.h"
#include "config/config.h"

namespace agentron {

struct DataDirLock {
  FileLock state;
  FileLock data_dir;
};

// Fails with a message naming the holder if another supervisor has either lock.
Result<DataDirLock> lock_data_dir(const AppConfig& app);

// Where the data-dir locks live for this process's user.
std::filesystem::path data_dir_lock_folder();

}  // namespace agentron
