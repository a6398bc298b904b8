// One supervisor per data dir: a FileLock on <data_dir>/.supervisor/supervisor.lock,
// held for the supervisor's life.
#pragma once

#include <filesystem>

#include "common/file_lock.h"

namespace agentron {

// Fails with a message naming the holder's pid if another supervisor has the lock.
Result<FileLock> lock_data_dir(const std::filesystem::path& state_dir);

}  // namespace agentron
