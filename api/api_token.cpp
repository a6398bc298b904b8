#include "api/api_token.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/unique_fd.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

constexpr size_t kTokenBytes = 32;  // 256 bits
constexpr const char* kNoToken = "no_api_token";
constexpr const char* kBadToken = "bad_api_token";

Error bad_token(const fs::path& file, const std::string& problem, const std::string& fix) {
  return Error{kBadToken, "the control API token file " + file.string() + " " + problem + ": " + fix};
}

// What to do about a token others may have seen.
std::string remake(const fs::path& file) {
  return "delete it (`rm " + file.string() + "`) and the supervisor makes a new token at its next start";
}

Status check_token_file(const fs::path& file, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return bad_token(file, "is not a regular file", "remove it, or point token_file elsewhere");
  if (st.st_uid != ::geteuid()) {
    return bad_token(file,
                     "is owned by uid " + std::to_string(st.st_uid) + ", not by the supervisor's user (uid " +
                         std::to_string(::geteuid()) + ")",
                     "`chown " + std::to_string(::geteuid()) + " " + file.string() + "`, or " + remake(file));
  }
  if ((st.st_mode & 077) != 0) {
    return bad_token(file, "can be read or written by group or others",
                     "`chmod 600 " + file.string() + "`; if someone else may have read it, " + remake(file));
  }
  return ok_status();
}

Result<std::string> read_token_file(const fs::path& file) {
  // O_NONBLOCK: a FIFO planted there must not hang the start; it is refused below.
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) return Error{kNoToken, "there is no token file " + file.string()};
  if (!fd.valid() && errno == ELOOP) return bad_token(file, "is a symlink", "replace it with the file itself");
  if (!fd.valid()) return errno_error(kBadToken, "cannot read the control API token file " + file.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(kBadToken, "cannot stat " + file.string(), errno);
  if (auto s = check_token_file(file, st); !s) return s.error();
  char text[4096];
  ssize_t n = ::read(fd.get(), text, sizeof text);
  if (n < 0) return errno_error(kBadToken, "cannot read the control API token file " + file.string(), errno);
  std::string token(text, static_cast<size_t>(n));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < kMinApiTokenLength) {
    return bad_token(file,
                     "holds no usable token (" + std::to_string(token.size()) + " characters; at least " +
                         std::to_string(kMinApiTokenLength) + " are needed)",
                     remake(file));
  }
  // It travels in an Authorization header: printable ASCII, no spaces.
  for (unsigned char c : token) {
    if (c <= ' ' || c >= 0x7f) return bad_token(file, "holds a token with spaces or non-ASCII bytes", remake(file));
  }
  return token;
}

Status write_token(const fs::path& file, int fd) {
  auto token = random_hex(kTokenBytes);
  if (!token) return token.error();
  std::string text = *token + "\n";
  // The umask may have taken bits away, never added them: 0600 exactly.
  if (::fchmod(fd, 0600) != 0) return errno_error("write_failed", "cannot chmod " + file.string(), errno);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write_failed", "cannot write " + file.string(), errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return errno_error("write_failed", "cannot write " + file.string(), errno);
  return ok_status();
}

// A new token in a new file. Never replaces one: O_EXCL, and O_NOFOLLOW so a symlink
// planted at its name is not followed to create a file elsewhere.
Status create_token_file(const fs::path& file) {
  std::error_code ec;
  fs::path folder = file.parent_path();
  if (!folder.empty() && !fs::exists(folder, ec)) {
    fs::create_directories(folder.parent_path(), ec);
    if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST)
      return errno_error("write_failed", "cannot create " + folder.string(), errno);
  }
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid() && errno == EEXIST) return ok_status();  // someone else's (or a symlink): read and judged next
  if (!fd.valid())
    return errno_error("write_failed", "cannot create the control API token file " + file.string(), errno);
  if (auto s = write_token(file, fd.get()); !s) {
    ::unlink(file.c_str());  // a half-written token would be refused at every start
    return s;
  }
  return ok_status();
}

}  // namespace

Result<std::string> random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  for (size_t done = 0; done < raw.size();) {
    ssize_t n = ::getrandom(raw.data() + done, raw.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("random_failed", "cannot read random bytes from the kernel", errno);
    done += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : raw) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  return hex;
}

Result<std::string> load_or_create_api_token(const fs::path& file) {
  auto token = read_token_file(file);
  if (token || token.error().code != kNoToken) return token;
  if (auto s = create_token_file(file); !s) return s.error();
  return read_token_file(file);
}

}  // namespace agentron
