#include "backup/verify.h"

#include <unistd.h>

#include "backup/file_ops.h"
#include "db/sqlite_db.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

void check_database(const fs::path& path, const ManifestEntry& e, VerifyReport& report) {
  auto db = SqliteDb::open(path, SqliteDb::Mode::immutable);
  if (!db) return report.problems.push_back(e.path + ": " + db.error().message);
  auto integrity = db->integrity_check();
  if (!integrity) return report.problems.push_back(e.path + ": " + integrity.error().message);
  if (*integrity != kIntegrityOk) report.problems.push_back(e.path + ": integrity_check: " + *integrity);
  auto counts = db->table_counts();
  if (counts && *counts != e.counts) report.problems.push_back(e.path + ": row counts differ from the manifest");
}

void check_entry(const fs::path& root, const ManifestEntry& e, VerifyReport& report) {
  fs::path path = root / e.path;
  auto st = lstat_path(path);
  if (!st) return report.problems.push_back(e.path + ": missing");
  bool type_ok = e.type == EntryType::dir       ? S_ISDIR(st->st_mode)
                 : e.type == EntryType::symlink ? S_ISLNK(st->st_mode)
                                                : S_ISREG(st->st_mode);
  if (!type_ok) return report.problems.push_back(e.path + ": is no longer a " + to_string(e.type));
  if (e.type != EntryType::symlink && (st->st_mode & 07777) != e.mode) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ": mode %04o, manifest says %04o", st->st_mode & 07777, e.mode);
    report.problems.push_back(e.path + buf);
  }
  if (e.type == EntryType::symlink) {
    std::error_code ec;
    if (fs::read_symlink(path, ec).string() != e.target) report.problems.push_back(e.path + ": link target differs");
    return;
  }
  if (e.type == EntryType::dir) return;
  auto hashed = hash_file(path);
  if (!hashed) return report.problems.push_back(e.path + ": " + hashed.error().message);
  ++report.files;
  report.bytes += hashed->size;
  if (hashed->size != e.size) {
    report.problems.push_back(e.path + ": size " + std::to_string(hashed->size) + ", manifest says " +
                              std::to_string(e.size));
  } else if (hashed->sha256 != e.sha256) {
    report.problems.push_back(e.path + ": content differs (sha256 " + hashed->sha256.substr(0, 12) +
                              "…, manifest says " + e.sha256.substr(0, 12) + "…)");
  }
  if (e.type == EntryType::sqlite) check_database(path, e, report);
}

void find_unexpected(const fs::path& root, const std::string& relative, const std::set<std::string>& known,
                     const std::set<std::string>& ignore, VerifyReport& report) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / relative, ec)) {
    std::string name = entry.path().filename();
    std::string rel = relative.empty() ? name : relative + "/" + name;
    if (relative.empty() && ignore.count(name)) continue;
    if (!known.count(rel)) {
      report.problems.push_back(rel + ": not in the manifest");
      continue;
    }
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) find_unexpected(root, rel, known, ignore, report);
  }
}

}  // namespace

VerifyReport check_tree(const fs::path& root, const Manifest& manifest, const std::set<std::string>& ignore) {
  VerifyReport report;
  report.name = manifest.name;
  std::set<std::string> known;
  for (const auto& e : manifest.entries) {
    known.insert(e.path);
    check_entry(root, e, report);
  }
  find_unexpected(root, "", known, ignore, report);
  return report;
}

Result<VerifyReport> verify_snapshot(const SnapshotInfo& snapshot, const BackupPaths& paths) {
  VerifyReport report;
  report.name = snapshot.manifest.name;
  // The files of a manifest with an entry like "../x" are not looked at: that path
  // leads out of the snapshot.
  if (snapshot.entries_valid) report = check_tree(snapshot.dir, snapshot.manifest, {kManifestFile, kVerifyFile});
  report.problems.insert(report.problems.begin(), snapshot.distrust.begin(), snapshot.distrust.end());
  if (snapshot.trust == Trust::authenticated) {
    if (auto s = record_verification(snapshot, paths, report.ok(), report.problems); !s) return s.error();
  }
  return report;
}

}  // namespace agentron
