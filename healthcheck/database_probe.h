// `probe` verification (DESIGN §4): the supervisor counts the app's rows itself.
// Blocking: run it off the event loop (the daemon uses a worker thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "common/duration.h"
#include "common/result.h"

namespace agentron {

struct DatabaseProbe {
  std::map<std::string, std::int64_t> counts;
  std::string integrity;  // "ok" or what PRAGMA quick_check found
  Duration took{0};
};

// Opens `database` read-only (never creating it) and runs each count query and
// PRAGMA quick_check, each as its own short read transaction, so the app's writers
// wait at most one query at a time (rollback-journal mode) or not at all (WAL).
// `busy_timeout` bounds how long one query waits for a writer. A query error names
// the count and the query.
Result<DatabaseProbe> probe_database(const std::filesystem::path& database,
                                     const std::map<std::string, std::string>& counts, Duration busy_timeout);

}  // namespace agentron
