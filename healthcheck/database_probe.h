// `probe` verification (docs/design.md §4): the supervisor counts the app's rows itself.
// Blocking: run it off the event loop (the daemon uses a worker thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "common/duration.h"
#include "common/fs_identity.h"
#include "common/result.h"

namespace agentron {

struct DatabaseProbe {
  std::map<std::string, std::int64_t> counts;
  std::string integrity;  // "ok" or what PRAGMA quick_check found
  Duration counts_took{0};
  Duration check_took{0};
  bool checked_under_lock = false;
};

// Opens `database` read-only (never creating it) and runs each count query as its own
// short read transaction, so the app's writers wait at most one count at a time
// (rollback-journal mode) or not at all (WAL). `busy_timeout` bounds how long one
// query waits for a writer. A query error names the count and the query.
//
// PRAGMA quick_check reads the whole file — hundreds of ms on a large DB — and in
// rollback-journal mode a reader's lock holds every commit of the app back that
// long. So there it first runs without locks (immutable): "ok" is taken as is (a
// corruption on disk shows in any read), and only problems are checked again under
// the lock, which dismisses the torn reads a concurrent write can cause. In WAL mode
// readers never block writers, and it runs under the lock directly.
// `check_integrity` false: counts only (a handover's baseline), integrity left empty.
// A count kept out by the app's writers ("database is locked") is tried up to three
// more times, each within `busy_timeout`, before the probe fails.
Result<DatabaseProbe> probe_database(const std::filesystem::path& database,
                                     const std::map<std::string, std::string>& counts, Duration busy_timeout,
                                     bool check_integrity = true, const FsIdentity* reader = nullptr);

}  // namespace agentron
