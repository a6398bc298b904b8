#include "backup/restore.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "backup/file_ops.h"
#include "common/utc_time.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

// Copies (never links: the restored data must not share inodes with the backup).
Status materialise(const SnapshotInfo& snapshot, const fs::path& staging) {
  if (::mkdir(staging.c_str(), 0700) != 0)
    return errno_error("write_failed", "cannot create " + staging.string(), errno);
  for (const auto& e : snapshot.manifest.entries) {
    fs::path from = snapshot.dir / e.path, to = staging / e.path;
    if (e.type == EntryType::dir) {
      if (::mkdir(to.c_str(), 0700) != 0) return errno_error("write_failed", "cannot create " + to.string(), errno);
    } else if (e.type == EntryType::symlink) {
      if (::symlink(e.target.c_str(), to.c_str()) != 0) {
        return errno_error("write_failed", "cannot create symlink " + to.string(), errno);
      }
    } else {
      auto copied = copy_file_hashed(from, to, e.mode, from_ns(e.mtime_ns));
      if (!copied) return copied.error();
      if (copied->sha256 != e.sha256)
        return Error{"restore_failed", e.path + " changed in the snapshot while restoring"};
    }
  }
  for (auto it = snapshot.manifest.entries.rbegin(); it != snapshot.manifest.entries.rend(); ++it) {
    if (it->type != EntryType::dir) continue;
    if (auto s = set_mode_and_mtime(staging / it->path, it->mode, from_ns(it->mtime_ns)); !s) return s;
  }
  return sync_filesystem(staging);
}

Status exchange(const fs::path& a, const fs::path& b) {
  if (::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
    return errno_error("restore_failed", "cannot swap " + a.string() + " and " + b.string(), errno);
  }
  return ok_status();
}

}  // namespace

Result<RestoreResult> restore_snapshot(const SnapshotInfo& snapshot, const fs::path& data_dir,
                                       const fs::path& backup_dir) {
  VerifyReport check = check_tree(snapshot.dir, snapshot.manifest, {kManifestFile, kVerifyFile});
  if (!check.ok()) {
    std::string first = check.problems.front();
    return Error{"snapshot_damaged", "snapshot " + snapshot.manifest.name + " fails verification (" +
                                         std::to_string(check.problems.size()) + " problem(s), first: " + first +
                                         "); nothing was changed"};
  }
  std::string stamp = utc_now_compact();
  fs::path staging = data_dir.string() + ".restoring-" + stamp;
  fs::path replaced = data_dir.string() + ".replaced-" + stamp;
  std::error_code ec;
  if (fs::exists(staging, ec) || fs::exists(replaced, ec)) {
    return Error{"restore_busy", staging.string() + " or " + replaced.string() + " already exists; try again"};
  }
  Status built = materialise(snapshot, staging);
  // The restored folder takes the mode the live data dir had.
  if (auto live = lstat_path(data_dir); built && live) ::chmod(staging.c_str(), live->st_mode & 07777);
  if (!built) {
    fs::remove_all(staging, ec);
    return Error{built.error().code, built.error().message + "; nothing was changed"};
  }

  // The supervisor's state and the backups are never restored over: they move into
  // the restored tree (same file system, so a rename), and the swap is atomic.
  std::set<std::string> carried = {".supervisor", "backups"};
  fs::path backup_rel = backup_dir.lexically_relative(data_dir);
  if (!backup_rel.empty() && *backup_rel.begin() != "..") carried.insert(backup_rel.begin()->string());
  for (const auto& name : carried) {
    if (!fs::exists(data_dir / name, ec)) continue;
    fs::remove_all(staging / name, ec);  // the snapshot never has them; be sure
    if (::rename((data_dir / name).c_str(), (staging / name).c_str()) != 0) {
      return errno_error("restore_failed", "cannot move " + (data_dir / name).string() + " into the restored data dir",
                         errno);
    }
  }
  if (auto s = exchange(staging, data_dir); !s) return s.error();
  // `staging` now holds the data that was live.
  if (::rename(staging.c_str(), replaced.c_str()) != 0) {
    return errno_error("restore_failed", "restored, but cannot rename the old data " + staging.string(), errno);
  }
  if (auto s = fsync_path(data_dir.parent_path()); !s) return s.error();

  RestoreResult result;
  result.replaced = replaced;
  result.restored = check_tree(data_dir, snapshot.manifest, carried);
  return result;
}

}  // namespace agentron
