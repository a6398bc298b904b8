#include "db/sqlite_db.h"

#include <sqlite3.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace agentron {
namespace fs = std::filesystem;

namespace {

// Owns a prepared statement.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool prepared() const { return rc_ == SQLITE_OK && stmt_; }
  int step() { return sqlite3_step(stmt_); }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, const std::string& value) {
  if (value.empty())
    sqlite3_bind_null(stmt_, index);
  else
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error{"sqlite_error", sql_ + ": " + sqlite3_errmsg(db_)};
}

std::int64_t SqliteStatement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string SqliteStatement::text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  return text ? reinterpret_cast<const char*>(text) : "";
}

bool SqliteStatement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

namespace {

// Before SQLite's first use (later it is refused, harmlessly). By default every page
// cache — one per open database, and one per temporary b-tree a query sorts in — takes
// 20 pages (~87 KiB) in one allocation on its first page, used or not: for the
// supervisor's history, whose queries touch a few pages, most of its idle heap. Without
// it pages are allocated as they are needed, as they are beyond the first 20 anyway.
void configure_sqlite_once() {
  static const bool configured = sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0) == SQLITE_OK;
  (void)configured;
}

}  // namespace

Result<SqliteDb> SqliteDb::open(const fs::path& path, Mode mode) {
  configure_sqlite_once();
  sqlite3* db = nullptr;
  std::string name = path.string();
  int flags = SQLITE_OPEN_READWRITE;
  if (mode == Mode::create) flags |= SQLITE_OPEN_CREATE;
  if (mode == Mode::immutable) {
    // URI form so the path needs no escaping beyond '%', '?' and '#'.
    std::string escaped;
    for (char c : name) {
      if (c == '%' || c == '?' || c == '#') {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        escaped += buf;
      } else {
        escaped += c;
      }
    }
    name = "file:" + escaped + "?immutable=1";
    flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
  }
  if (mode == Mode::read_only) flags = SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(name.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error{"sqlite_open_failed", "cannot open database " + path.string() + ": " + message};
  }
  sqlite3_extended_result_codes(db, 1);
  return SqliteDb(db, path);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Error SqliteDb::error(const std::string& what) const {
  return Error{"sqlite_error", what + " on " + path_.string() + ": " + sqlite3_errmsg(db_)};
}

void SqliteDb::busy_timeout(int ms) { sqlite3_busy_timeout(db_, ms); }

Status SqliteDb::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return Error{"sqlite_error", sql + " on " + path_.string() + ": " + text};
  }
  return ok_status();
}

Result<SqliteStatement> SqliteDb::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(sql);
  }
  return SqliteStatement(db_, stmt, sql);
}

Result<std::int64_t> SqliteDb::query_int(const std::string& sql) {
  Statement stmt(db_, sql);
  if (!stmt.prepared()) return error(sql);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return static_cast<std::int64_t>(sqlite3_column_int64(stmt.get(), 0));
  if (rc == SQLITE_DONE) return Error{"sqlite_no_row", sql + " on " + path_.string() + " returned no row"};
  return error(sql);
}

Result<std::string> SqliteDb::query_text(const std::string& sql) {
  Statement stmt(db_, sql);
  if (!stmt.prepared()) return error(sql);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    return std::string(text ? reinterpret_cast<const char*>(text) : "");
  }
  if (rc == SQLITE_DONE) return Error{"sqlite_no_row", sql + " on " + path_.string() + " returned no row"};
  return error(sql);
}

Status SqliteDb::backup_to(const fs::path& destination) {
  auto dest = open(destination, Mode::create);
  if (!dest) return dest.error();
  // The copy is fsynced by the caller as a whole; a journal for it would only cost.
  if (auto s = dest->exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF"); !s) return s;
  sqlite3_backup* backup = sqlite3_backup_init(dest->db_, "main", db_, "main");
  if (!backup) return dest->error("backup init from " + path_.string());
  // One step (-1): a stepwise copy restarts whenever another connection writes, so
  // under a steady stream of app writes it would never finish.
  int rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return Error{"sqlite_backup_failed",
                 "backup of " + path_.string() + " into " + destination.string() + ": " + sqlite3_errstr(rc)};
  }
  return ok_status();
}

Result<std::string> SqliteDb::integrity_check() { return check("PRAGMA integrity_check"); }
Result<std::string> SqliteDb::quick_check() { return check("PRAGMA quick_check"); }

Result<std::string> SqliteDb::check(const char* pragma) {
  Statement stmt(db_, pragma);
  if (!stmt.prepared()) return error(pragma);
  std::string problems;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    std::string line = text ? reinterpret_cast<const char*>(text) : "";
    if (line == kIntegrityOk) continue;
    problems += (problems.empty() ? "" : "; ") + line;
  }
  if (rc != SQLITE_DONE) return error(pragma);
  return problems.empty() ? std::string("ok") : problems;
}

Result<std::map<std::string, std::int64_t>> SqliteDb::table_counts() {
  std::vector<std::string> tables;
  {
    Statement stmt(db_,
                   "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    if (!stmt.prepared()) return error("listing tables");
    int rc;
    while ((rc = stmt.step()) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)));
    }
    if (rc != SQLITE_DONE) return error("listing tables");
  }
  std::map<std::string, std::int64_t> counts;
  for (const auto& table : tables) {
    auto n = query_int("SELECT count(*) FROM " + quote_identifier(table));
    if (!n) return n.error();
    counts[table] = *n;
  }
  return counts;
}

Result<std::map<std::string, std::int64_t>> restore_missing_rows(const fs::path& live, const fs::path& snapshot,
                                                                 int busy_timeout_ms, const FsIdentity* app) {
  std::optional<ActingAs> as_app(std::in_place, app);
  if (!as_app->ok()) return as_app->status().error();
  auto db = SqliteDb::open(live, SqliteDb::Mode::read_write);
  if (!db) return db.error();
  db->busy_timeout(busy_timeout_ms);
  std::string path = snapshot.string();
  std::string quoted = "'";
  for (char c : path) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  quoted += "'";
  as_app.reset();  // the snapshot is the supervisor's: attached as root
  if (auto s = db->exec("ATTACH DATABASE " + quoted + " AS snap"); !s) return s.error();
  as_app.emplace(app);  // the live database's journal, and every write, as the app
  if (!as_app->ok()) return as_app->status().error();
  std::vector<std::string> tables;
  {
    auto list = db->prepare(
        "SELECT s.name FROM snap.sqlite_master s JOIN main.sqlite_master m ON m.name = s.name AND m.type = 'table' "
        "WHERE s.type = 'table' AND s.name NOT LIKE 'sqlite_%' ORDER BY s.name");
    if (!list) return list.error();
    for (;;) {
      auto row = list->step();
      if (!row) return row.error();
      if (!*row) break;
      tables.push_back(list->text(0));
    }
  }
  if (auto s = db->exec("BEGIN IMMEDIATE"); !s) return s.error();
  std::map<std::string, std::int64_t> restored;
  for (const auto& t : tables) {
    std::string q = quote_identifier(t);
    if (auto s = db->exec("INSERT OR IGNORE INTO main." + q + " SELECT * FROM snap." + q); !s) {
      (void)db->exec("ROLLBACK");
      return s.error();
    }
    auto n = db->query_int("SELECT changes()");
    if (n && *n > 0) restored[t] = *n;
  }
  if (auto s = db->exec("COMMIT"); !s) {
    (void)db->exec("ROLLBACK");
    return s.error();
  }
  (void)db->exec("DETACH DATABASE snap");
  return restored;
}

Status check_count_query(const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return Error{"sqlite_error", "cannot open an in-memory database"};
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, &tail);
  std::string message = sqlite3_errmsg(db);
  // The schema is the app's, unknown here: a missing table or column is not an error yet.
  bool schema_only = message.rfind("no such table", 0) == 0 || message.rfind("no such column", 0) == 0;
  size_t start = sql.find_first_not_of(" \t\r\n");
  std::string head = start == std::string::npos ? "" : sql.substr(start, 6);
  for (char& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bool reads = head.rfind("SELECT", 0) == 0 || head.rfind("WITH", 0) == 0;
  Status result = ok_status();
  if (rc != SQLITE_OK && !schema_only) {
    result = Error{"bad_query", message};
  } else if (!reads || (stmt && !sqlite3_stmt_readonly(stmt))) {
    result = Error{"bad_query", "the query must only read (a SELECT); it would change the database"};
  } else if (rc != SQLITE_OK) {
    // Known to be a SELECT whose tables are not here: checked against the app's database at run time.
  } else if (!stmt) {
    result = Error{"bad_query", "the query is empty"};
  } else if (tail && std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    result = Error{"bad_query", "one statement only; found more after the first"};
  } else if (sqlite3_column_count(stmt) != 1) {
    result = Error{"bad_query", "the query must return one column (a count); it returns " +
                                    std::to_string(sqlite3_column_count(stmt))};
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

bool is_sqlite_file(const fs::path& path) {
  static constexpr char kHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
  std::ifstream in(path, std::ios::binary);
  char header[16];
  return in.read(header, sizeof header) && std::memcmp(header, kHeader, sizeof header) == 0;
}

}  // namespace agentron
