#include "backup/restore.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#include <optional>

#include "backup/file_ops.h"
#include "common/utc_time.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

// Where an entry goes: its folder, opened beneath the root, and its name in it.
struct Owner {
  uid_t uid;
  gid_t gid;
};

struct Place {
  UniqueFd folder;
  std::string name;
};

// REQUIRES: `path` passed path_problem (backup/manifest_rules.h).
Result<Place> place_of(int root, const std::string& root_name, const std::string& path) {
  size_t slash = path.rfind('/');
  auto folder =
      open_beneath(root, root_name, slash == std::string::npos ? "." : path.substr(0, slash), O_PATH | O_DIRECTORY);
  if (!folder) return folder.error();
  return Place{std::move(folder.value()), path.substr(slash + 1)};  // npos + 1 == 0
}

Status copy_entry(const ManifestEntry& e, int from, const std::string& from_name, const Place& to,
                  const std::string& shown) {
  // O_NONBLOCK: a FIFO swapped in since the check must not hang the restore.
  auto in = open_beneath(from, from_name, e.path, O_RDONLY | O_NONBLOCK);
  if (!in) return in.error();
  struct stat st {};
  if (::fstat(in->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error{"restore_failed", e.path + " is no longer a file in the snapshot"};
  }
  UniqueFd out(::openat(to.folder.get(), to.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error("write_failed", "cannot create " + shown, errno);
  auto copied = copy_fd_hashed(in->get(), out.get(), from_name + "/" + e.path, shown, e.mode, from_ns(e.mtime_ns));
  if (!copied) return copied.error();
  if (::close(out.release()) != 0) return errno_error("write_failed", "cannot close " + shown, errno);
  if (copied->sha256 != e.sha256) return Error{"restore_failed", e.path + " changed in the snapshot while restoring"};
  return ok_status();
}

Status create_entry(const ManifestEntry& e, int from, const std::string& from_name, const Place& place,
                    const std::string& shown) {
  switch (e.type) {
    case EntryType::dir:
      if (::mkdirat(place.folder.get(), place.name.c_str(), 0700) != 0)
        return errno_error("write_failed", "cannot create " + shown, errno);
      return ok_status();
    case EntryType::symlink:
      if (::symlinkat(e.target.c_str(), place.folder.get(), place.name.c_str()) != 0)
        return errno_error("write_failed", "cannot create symlink " + shown, errno);
      return ok_status();
    case EntryType::file:
    case EntryType::sqlite: return copy_entry(e, from, from_name, place, shown);
  }
  return ok_status();
}

// Creates `e` beneath `to`, through folders opened one at a time with openat2: no
// symlink is followed, nothing is written outside `to`, whatever the manifest says
// and whatever changes in either tree meanwhile. Then gives it to `owner`, if any.
Status put_entry(const ManifestEntry& e, int from, const std::string& from_name, int to, const std::string& to_name,
                 const std::optional<Owner>& owner) {
  auto place = place_of(to, to_name, e.path);
  if (!place) return place.error();
  std::string shown = to_name + "/" + e.path;
  if (auto s = create_entry(e, from, from_name, *place, shown); !s) return s;
  if (owner && ::fchownat(place->folder.get(), place->name.c_str(), owner->uid, owner->gid, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("write_failed", "cannot give " + shown + " to uid " + std::to_string(owner->uid), errno);
  return ok_status();
}

Result<UniqueFd> open_folder(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error("restore_failed", "cannot open " + path.string(), errno);
  return fd;
}

// Copies (never links: the restored data must not share inodes with the backup).
Status materialise(const SnapshotInfo& snapshot, const fs::path& staging, const std::optional<Owner>& owner) {
  auto from = open_folder(snapshot.dir);
  if (!from) return from.error();
  if (::mkdir(staging.c_str(), 0700) != 0)
    return errno_error("write_failed", "cannot create " + staging.string(), errno);
  auto to = open_folder(staging);
  if (!to) return to.error();
  for (const auto& e : snapshot.manifest.entries) {
    if (auto s = put_entry(e, from->get(), snapshot.dir.string(), to->get(), staging.string(), owner); !s) return s;
  }
  for (auto it = snapshot.manifest.entries.rbegin(); it != snapshot.manifest.entries.rend(); ++it) {
    if (it->type != EntryType::dir) continue;
    auto dir = open_beneath(to->get(), staging.string(), it->path, O_RDONLY | O_DIRECTORY);
    if (!dir) return dir.error();
    if (auto s = set_mode_and_mtime(dir->get(), staging.string() + "/" + it->path, it->mode, from_ns(it->mtime_ns)); !s)
      return s;
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

Status may_restore(const SnapshotInfo& snapshot, bool allow_unauthenticated) {
  std::string name = snapshot.manifest.name;
  std::string why = snapshot.distrust.empty() ? "" : " (" + snapshot.distrust.front() + ")";
  if (snapshot.trust == Trust::untrusted) {
    return Error{"snapshot_untrusted", "snapshot " + name + " is untrusted" + why +
                                           "; it is never restored: nothing was changed (`backups verify " + name +
                                           "` names every problem)"};
  }
  if (snapshot.trust == Trust::unauthenticated && !allow_unauthenticated) {
    return Error{"snapshot_unauthenticated",
                 "snapshot " + name + " is not authenticated" + why +
                     "; nothing was changed. If you know it is one of yours, restore it with --allow-unauthenticated"};
  }
  return ok_status();
}

Result<RestoreResult> restore_snapshot(const SnapshotInfo& snapshot, const fs::path& data_dir,
                                       const fs::path& backup_dir, bool allow_unauthenticated) {
  if (auto s = may_restore(snapshot, allow_unauthenticated); !s) return s.error();
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
  // The restored data belongs to whoever owns the live data dir ([app] user, when the
  // supervisor runs as root), with the mode it had.
  auto live = lstat_path(data_dir);
  std::optional<Owner> owner;
  if (live && live->st_uid != ::geteuid()) owner = Owner{live->st_uid, live->st_gid};
  Status built = materialise(snapshot, staging, owner);
  if (built && live) {
    ::chmod(staging.c_str(), live->st_mode & 07777);
    if (owner && ::chown(staging.c_str(), owner->uid, owner->gid) != 0)
      built = errno_error("write_failed", "cannot give " + staging.string() + " to uid " + std::to_string(owner->uid),
                          errno);
  }
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
