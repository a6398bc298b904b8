#include "fork/local_repo.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "fork/fork_errors.h"
#include "fork/git_url.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

// git's is_url(): "scheme://" with a scheme of letters, digits, '+', '-', '.'.
bool is_url(const std::string& url) {
  if (url.empty() || !std::isalpha(static_cast<unsigned char>(url[0]))) return false;
  size_t i = 1;
  while (i < url.size() && url[i] != ':') {
    char c = url[i++];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return url.compare(i, 3, "://") == 0;
}

Error not_a_repository(const std::string& path, const std::string& why) {
  return Error{fork_error::not_a_repository, path + " is not a git repository (" + why + ")"};
}

// git's interpolate_path(): "~" and "~/x" are $HOME, "~user/x" that user's home.
std::string expand_home(const std::string& path) {
  if (path.empty() || path[0] != '~') return path;
  auto slash = path.find('/');
  std::string user = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  std::string rest = slash == std::string::npos ? "" : path.substr(slash);
  if (user.empty()) {
    const char* home = std::getenv("HOME");
    return home ? std::string(home) + rest : path;
  }
  const passwd* pw = ::getpwnam(user.c_str());
  return pw ? std::string(pw->pw_dir) + rest : path;
}

Result<FileId> stat_at(int dir_fd, const char* name, const std::string& what) {
  struct stat st {};
  if (::fstatat(dir_fd, name, &st, 0) != 0) return errno_error(fork_error::not_a_repository, what, errno);
  if (!S_ISDIR(st.st_mode)) return Error{fork_error::not_a_repository, what + " is not a directory"};
  return FileId{st.st_dev, st.st_ino};
}

std::string real_path_of(int fd) {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  return ec ? "(unknown)" : p.string();
}

// The first line of a small file in `dir_fd`, or nullopt if there is no such file.
std::optional<std::string> read_line_at(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return std::nullopt;
  std::array<char, 4096> buf{};
  ssize_t n = ::read(fd.get(), buf.data(), buf.size() - 1);
  std::string line(buf.data(), n > 0 ? static_cast<size_t>(n) : 0);
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

}  // namespace

// A git directory, opened (git's is_git_directory): HEAD in it, objects and refs in
// its common dir — itself, or what its `commondir` file names (relative to it).
Result<LocalRepo> identify_git_dir(UniqueFd git_dir, const std::string& shown) {
  struct stat head {};
  if (::fstatat(git_dir.get(), "HEAD", &head, AT_SYMLINK_NOFOLLOW) != 0) return not_a_repository(shown, "no HEAD");
  UniqueFd common;
  if (auto named = read_line_at(git_dir.get(), "commondir")) {
    common.reset(::openat(git_dir.get(), named->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!common.valid()) return not_a_repository(shown, "its commondir " + *named + " cannot be opened");
    // libgit2 would follow a second `commondir` where git stops: refuse the ambiguity.
    if (read_line_at(common.get(), "commondir")) return not_a_repository(shown, "its common dir redirects again");
  } else {
    common.reset(::openat(git_dir.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  auto git_dir_id = file_id(git_dir.get(), shown);
  auto common_id = file_id(common.get(), shown);
  auto objects = stat_at(common.get(), "objects", shown + ": objects");
  auto refs = stat_at(common.get(), "refs", shown + ": refs");
  for (const auto* r : {&git_dir_id, &common_id, &objects, &refs}) {
    if (!*r) return not_a_repository(shown, r->error().message);
  }
  std::string real = real_path_of(common.get());
  return LocalRepo(std::move(common), RepoId{*git_dir_id, *common_id, *objects, *refs}, real);
}

namespace {

// A `gitdir: X` file: X, relative to the file's folder.
Result<LocalRepo> follow_gitfile(const fs::path& file) {
  UniqueFd parent(::open(file.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto line = parent.valid() ? read_line_at(parent.get(), file.filename().c_str()) : std::nullopt;
  if (!line || line->rfind("gitdir: ", 0) != 0) return not_a_repository(file.string(), "not a gitdir: file");
  std::string target = line->substr(8);
  UniqueFd dir(::openat(parent.get(), target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return not_a_repository(file.string(), "its gitdir " + target + " cannot be opened");
  return identify_git_dir(std::move(dir), file.string() + " → " + target);
}

}  // namespace

bool RepoId::shares_storage_with(const RepoId& other) const {
  for (const FileId& mine : {git_dir, common_dir, objects, refs}) {
    for (const FileId& theirs : {other.git_dir, other.common_dir, other.objects, other.refs}) {
      if (mine == theirs) return true;
    }
  }
  return false;
}

std::optional<std::string> local_path_of_url(const std::string& url) {
  if (is_url(url)) {
    // git decodes the whole URL before it splits off the host.
    std::string decoded = percent_decode(url);
    auto scheme_end = decoded.find("://");
    if (decoded.substr(0, scheme_end) != "file") return std::nullopt;
    std::string rest = decoded.substr(scheme_end + 3);
    // The host (ignored by git) ends at the first '/', or after "[...]".
    size_t host_end = 0;
    if (!rest.empty() && rest[0] == '[') host_end = rest.find(']') == std::string::npos ? 0 : rest.find(']');
    auto path = rest.find('/', host_end);
    return path == std::string::npos ? std::string() : rest.substr(path);
  }
  // git's url_is_local_not_ssh(): a ':' before any '/' makes it the scp form of ssh.
  auto colon = url.find(':');
  auto slash = url.find('/');
  if (colon == std::string::npos || (slash != std::string::npos && slash < colon)) return url;
  return std::nullopt;
}

std::string LocalRepo::pinned_path() const { return "/proc/self/fd/" + std::to_string(common_dir_.get()); }

bool LocalRepo::lies_beneath(const FileId& dir) const { return is_at_or_beneath(common_dir_.get(), dir); }

bool is_at_or_beneath(int fd, const FileId& dir) {
  UniqueFd current(::openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  while (current.valid()) {
    auto id = file_id(current.get(), "");
    if (!id) return false;
    if (*id == dir) return true;
    UniqueFd parent(::openat(current.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto parent_id = parent.valid() ? file_id(parent.get(), "") : Result<FileId>(Error{});
    if (!parent_id || *parent_id == *id) return false;  // the root is its own parent
    current = std::move(parent);
  }
  return false;
}

Result<FileId> file_id(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(fork_error::not_a_repository, what, errno);
  return FileId{st.st_dev, st.st_ino};
}

Result<LocalRepo> resolve_local_repo(const std::string& raw, const fs::path& base) {
  if (raw.empty()) return not_a_repository("''", "no path");
  std::string path = expand_home(raw);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  fs::path start = fs::path(path).is_absolute() ? fs::path(path) : base / path;
  // enter_repo(): the first suffix that is a git directory or a file (a gitdir: file) wins.
  for (const char* suffix : {"/.git", "", ".git/.git", ".git"}) {
    std::string candidate = start.string() + suffix;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode)) return follow_gitfile(candidate);
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd dir(::open(candidate.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) continue;
    if (auto repo = identify_git_dir(std::move(dir), candidate)) return repo;
  }
  return not_a_repository(start.string(), "nothing git would push to is there");
}

}  // namespace agentron
