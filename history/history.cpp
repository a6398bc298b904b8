#include "history/history.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/utc_time.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

// kMigrations[i] takes the schema from version i to i + 1. Append only: a released
// migration never changes, so every ledger in the field walks the same path.
const char* const kMigrations[] = {
    // 1: what happened to instances.
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  instance_id TEXT,"
    "  pid INTEGER,"
    "  release TEXT,"
    "  commit_sha TEXT,"
    "  detail TEXT);"
    "CREATE INDEX events_by_kind ON events(kind, id);",
    // 2: verification results on events; restart requests, one row each, and the
    // phases each went through.
    "ALTER TABLE events ADD COLUMN counts TEXT;"
    "ALTER TABLE events ADD COLUMN integrity TEXT;"
    "ALTER TABLE events ADD COLUMN request_id TEXT;"
    "CREATE TABLE requests ("
    "  id TEXT PRIMARY KEY,"
    "  received_at TEXT NOT NULL,"
    "  branch TEXT, commit_sha TEXT, summary TEXT, requested_by TEXT, run_id TEXT,"
    "  state TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  reason TEXT, backup_path TEXT, baseline_counts TEXT, verified_counts TEXT);"
    "CREATE TABLE request_phases ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  request_id TEXT NOT NULL REFERENCES requests(id),"
    "  phase TEXT NOT NULL,"
    "  at TEXT NOT NULL,"
    "  detail TEXT);"
    "CREATE INDEX request_phases_by_request ON request_phases(request_id, id);",
};
static_assert(std::size(kMigrations) == History::kSchemaVersion);

std::string counts_json(const std::map<std::string, std::int64_t>& counts) {
  return counts.empty() ? "" : nlohmann::json(counts).dump();
}

std::map<std::string, std::int64_t> parse_counts(const std::string& text) {
  std::map<std::string, std::int64_t> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_number_integer()) out[k] = v.get<std::int64_t>();
  }
  return out;
}

std::string now_ms() { return utc_iso8601_ms(WallClock::now()); }

const char* const kEventColumns =
    "SELECT id, at, kind, instance_id, pid, release, commit_sha, detail, counts, integrity, request_id FROM events ";

HistoryEvent event_from(const SqliteStatement& row) {
  HistoryEvent e;
  e.id = row.int64(0);
  e.at = row.text(1);
  e.kind = row.text(2);
  e.instance_id = row.text(3);
  e.pid = row.int64(4);
  e.release = row.text(5);
  e.commit = row.text(6);
  e.detail = row.text(7);
  e.counts = parse_counts(row.text(8));
  e.integrity = row.text(9);
  e.request_id = row.text(10);
  return e;
}

}  // namespace

fs::path history_path(const fs::path& state_dir) { return state_dir / "history.sqlite"; }

Result<History> History::open(const fs::path& path) {
  auto db = SqliteDb::open(path, SqliteDb::Mode::create);
  if (!db) return db.error();
  // The supervisor's alone: SQLite gives its -wal and -shm the same mode.
  if (::chmod(path.c_str(), 0600) != 0) return errno_error("history_failed", "cannot chmod " + path.string(), errno);
  for (const char* side : {"-wal", "-shm"}) ::chmod((path.string() + side).c_str(), 0600);  // an older version's 0644
  History history(std::move(db.value()));
  history.db_.busy_timeout(5000);
  if (auto s = history.db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL"); !s) return s.error();
  if (auto s = history.migrate(kSchemaVersion); !s) return s.error();
  return history;
}

Result<History> History::open_read_only(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Error{"no_history", "no history at " + path.string() + ": the supervisor has not run on this data dir yet"};
  }
  auto db = SqliteDb::open(path, SqliteDb::Mode::read_only);
  if (!db) return db.error();
  History history(std::move(db.value()));
  history.db_.busy_timeout(5000);
  auto version = history.schema_version();
  if (!version) return version.error();
  if (*version != kSchemaVersion) {
    return Error{"history_version", path.string() + " is at schema version " + std::to_string(*version) +
                                        "; this program reads version " + std::to_string(kSchemaVersion) +
                                        (*version < kSchemaVersion ? " (start the supervisor once to migrate it)"
                                                                   : " (use the newer agentron-supervisor)")};
  }
  return history;
}

Result<History> History::create_at_version(const fs::path& path, int version) {
  auto db = SqliteDb::open(path, SqliteDb::Mode::create);
  if (!db) return db.error();
  History history(std::move(db.value()));
  if (auto s = history.db_.exec("PRAGMA journal_mode=WAL"); !s) return s.error();
  if (auto s = history.migrate(version); !s) return s.error();
  return history;
}

Result<int> History::schema_version() {
  auto v = db_.query_int("PRAGMA user_version");
  if (!v) return v.error();
  return static_cast<int>(*v);
}

Status History::migrate(int to_version) {
  auto from = schema_version();
  if (!from) return from.error();
  if (*from > kSchemaVersion) {
    return Error{"history_too_new", db_.path().string() + " is at schema version " + std::to_string(*from) +
                                        ", newer than this supervisor knows (" + std::to_string(kSchemaVersion) +
                                        "): run the newer agentron-supervisor; nothing was written"};
  }
  for (int v = *from; v < to_version; ++v) {
    // One transaction per step, the version bump inside it: a crash leaves the
    // ledger at v or v + 1, never in between.
    std::string step = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                       "PRAGMA user_version = " + std::to_string(v + 1) + "; COMMIT;";
    if (auto s = db_.exec(step); !s) {
      (void)db_.exec("ROLLBACK");
      return Error{"history_migration_failed", "cannot migrate " + db_.path().string() + " to version " +
                                                   std::to_string(v + 1) + ": " + s.error().message};
    }
  }
  return ok_status();
}

Result<std::int64_t> History::record(HistoryEvent e) {
  auto stmt = db_.prepare(
      "INSERT INTO events (at, kind, instance_id, pid, release, commit_sha, detail, counts, integrity, request_id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.error();
  stmt->bind(1, e.at.empty() ? now_ms() : e.at)
      .bind(2, e.kind)
      .bind(3, e.instance_id)
      .bind(4, e.pid)
      .bind(5, e.release)
      .bind(6, e.commit)
      .bind(7, e.detail)
      .bind(8, counts_json(e.counts))
      .bind(9, e.integrity)
      .bind(10, e.request_id);
  if (auto done = stmt->step(); !done) return done.error();
  return db_.query_int("SELECT last_insert_rowid()");
}

Result<std::vector<HistoryEvent>> History::events(int limit) {
  auto stmt = db_.prepare(std::string(kEventColumns) + "ORDER BY id DESC LIMIT ?");
  if (!stmt) return stmt.error();
  stmt->bind(1, static_cast<std::int64_t>(limit));
  std::vector<HistoryEvent> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(event_from(*stmt));
  }
}

Result<std::optional<HistoryEvent>> History::last_of(const std::vector<std::string>& kinds) {
  std::string placeholders;
  for (size_t i = 0; i < kinds.size(); ++i) placeholders += i ? ", ?" : "?";
  auto stmt = db_.prepare(std::string(kEventColumns) + "WHERE kind IN (" + placeholders + ") ORDER BY id DESC LIMIT 1");
  if (!stmt) return stmt.error();
  for (size_t i = 0; i < kinds.size(); ++i) stmt->bind(static_cast<int>(i + 1), kinds[i]);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<HistoryEvent>();
  return std::optional<HistoryEvent>(event_from(*stmt));
}

Status History::upsert_request(const HistoryRequest& r) {
  auto stmt = db_.prepare(
      "INSERT INTO requests (id, received_at, branch, commit_sha, summary, requested_by, run_id, state, updated_at, "
      "reason, backup_path, baseline_counts, verified_counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
      "reason = excluded.reason, backup_path = excluded.backup_path, baseline_counts = excluded.baseline_counts, "
      "verified_counts = excluded.verified_counts, commit_sha = excluded.commit_sha");
  if (!stmt) return stmt.error();
  std::string now = now_ms();
  stmt->bind(1, r.id)
      .bind(2, r.received_at.empty() ? now : r.received_at)
      .bind(3, r.branch)
      .bind(4, r.commit)
      .bind(5, r.summary)
      .bind(6, r.requested_by)
      .bind(7, r.run_id)
      .bind(8, r.state)
      .bind(9, r.updated_at.empty() ? now : r.updated_at)
      .bind(10, r.reason)
      .bind(11, r.backup_path)
      .bind(12, counts_json(r.baseline_counts))
      .bind(13, counts_json(r.verified_counts));
  if (auto done = stmt->step(); !done) return done.error();
  return ok_status();
}

Status History::add_phase(const std::string& request_id, const std::string& phase, const std::string& detail) {
  auto stmt = db_.prepare("INSERT INTO request_phases (request_id, phase, at, detail) VALUES (?, ?, ?, ?)");
  if (!stmt) return stmt.error();
  stmt->bind(1, request_id).bind(2, phase).bind(3, now_ms()).bind(4, detail);
  if (auto done = stmt->step(); !done) return done.error();
  return ok_status();
}

Result<std::vector<HistoryPhase>> History::phases(const std::string& request_id) {
  auto stmt = db_.prepare("SELECT phase, at, detail FROM request_phases WHERE request_id = ? ORDER BY id");
  if (!stmt) return stmt.error();
  stmt->bind(1, request_id);
  std::vector<HistoryPhase> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back({stmt->text(0), stmt->text(1), stmt->text(2)});
  }
}

Result<std::optional<HistoryRequest>> History::unfinished_request() {
  auto all = select_requests("WHERE state NOT IN ('done', 'rolled_back', 'rejected')", 1);
  if (!all) return all.error();
  if (all->empty()) return std::optional<HistoryRequest>();
  return std::optional<HistoryRequest>(all->front());
}

Result<std::vector<HistoryRequest>> History::requests(int limit, int offset) {
  return select_requests("", limit, offset);
}

Result<std::vector<HistoryRequest>> History::select_requests(const std::string& where, int limit, int offset) {
  auto stmt = db_.prepare(
      "SELECT id, received_at, branch, commit_sha, summary, requested_by, run_id, state, updated_at, reason, "
      "backup_path, baseline_counts, verified_counts FROM requests " +
      where + " ORDER BY received_at DESC, rowid DESC LIMIT ? OFFSET ?");
  if (!stmt) return stmt.error();
  stmt->bind(1, static_cast<std::int64_t>(limit));
  stmt->bind(2, static_cast<std::int64_t>(offset));
  std::vector<HistoryRequest> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return out;
    HistoryRequest r;
    r.id = stmt->text(0);
    r.received_at = stmt->text(1);
    r.branch = stmt->text(2);
    r.commit = stmt->text(3);
    r.summary = stmt->text(4);
    r.requested_by = stmt->text(5);
    r.run_id = stmt->text(6);
    r.state = stmt->text(7);
    r.updated_at = stmt->text(8);
    r.reason = stmt->text(9);
    r.backup_path = stmt->text(10);
    r.baseline_counts = parse_counts(stmt->text(11));
    r.verified_counts = parse_counts(stmt->text(12));
    out.push_back(std::move(r));
  }
}

}  // namespace agentron
