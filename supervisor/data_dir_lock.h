// One supervisor per data dir: a FileLock on <state_dir>/supervisor.lock (which names
// the holder's pid), and an flock on the data dir itself — two supervisors with
// different state dirs on one data dir would otherwise both run the app on it.
// Held for the supervisor's life.
#pragma once

#include <filesystem>

#include "common/file_lock.h"
#include "config/config.h"

namespace agentron {

struct DataDirLock {
  FileLock state;
  UniqueFd data_dir;  // flocked
};

// Fails with a message naming the holder if another supervisor has either lock.
Result<DataDirLock> lock_data_dir(const AppConfig& app);

}  // namespace agentron
