#include "backup/backup_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "backup/hmac_sha256.h"
#include "common/atomic_file.h"
#include "common/unique_fd.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

constexpr size_t kKeyBytes = 32;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

// Compares in time that does not depend on where they differ.
bool same_mac(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Result<std::string> read_key_file(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) return Error{kNoBackupKeyCode, "there is no backup key " + file.string()};
  if (!fd.valid()) return errno_error("bad_backup_key", "cannot read the backup key " + file.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    return Error{"bad_backup_key", "the backup key " + file.string() + " is not a regular file owned by this user"};
  }
  if ((st.st_mode & 077) != 0) {
    return Error{"bad_backup_key", "the backup key " + file.string() +
                                       " can be read or written by others: it authenticates nothing; `chmod 600` it"};
  }
  char text[2 * kKeyBytes + 2];
  ssize_t n = ::read(fd.get(), text, sizeof text);
  std::string hex(text, n > 0 ? static_cast<size_t>(n) : 0);
  if (!hex.empty() && hex.back() == '\n') hex.pop_back();
  std::string key;
  for (size_t i = 0; hex.size() == 2 * kKeyBytes && i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) break;
    key += static_cast<char>(hi << 4 | lo);
  }
  if (key.size() != kKeyBytes) {
    return Error{"bad_backup_key", "the backup key " + file.string() + " is not 64 hex digits"};
  }
  return key;
}

// Writes a new key beside `file` and links it into place: link() never replaces, so
// of two processes creating the key at once, one wins and both read its key.
Status create_key_file(const fs::path& file) {
  std::error_code ec;
  fs::create_directories(file.parent_path().parent_path(), ec);
  if (::mkdir(file.parent_path().c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error("write_failed", "cannot create " + file.parent_path().string(), errno);
  }
  std::string key(kKeyBytes, '\0');
  for (size_t done = 0; done < key.size();) {
    ssize_t n = ::getrandom(key.data() + done, key.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("random_failed", "cannot read random bytes for the backup key", errno);
    done += static_cast<size_t>(n);
  }
  fs::path fresh = file.string() + ".new-" + std::to_string(::getpid());
  if (auto s = write_file_atomically(fresh, to_hex(key) + "\n", 0600); !s) return s;
  int linked = ::link(fresh.c_str(), file.c_str());
  int err = errno;
  ::unlink(fresh.c_str());
  if (linked != 0 && err != EEXIST) return errno_error("write_failed", "cannot create " + file.string(), err);
  return ok_status();
}

}  // namespace

fs::path backup_key_file(const fs::path& state_dir) { return state_dir / "backup.key"; }

Result<BackupKey> BackupKey::load(const fs::path& file) {
  auto key = read_key_file(file);
  if (!key) return key.error();
  return BackupKey(std::move(key.value()));
}

Result<BackupKey> BackupKey::load_or_create(const fs::path& file, bool* created) {
  auto key = load(file);
  if (key || key.error().code != kNoBackupKeyCode) return key;
  if (auto s = create_key_file(file); !s) return s.error();
  if (created) *created = true;
  return load(file);
}

Result<std::string> BackupKey::mac(std::string_view domain, std::string_view bytes) const {
  std::string message;
  message.reserve(domain.size() + 1 + bytes.size());
  message.append(domain).append("\n").append(bytes);
  auto mac = hmac_sha256(bytes_, message);
  if (!mac) return mac.error();
  return to_hex(*mac);
}

namespace {

// The bytes a record's MAC covers. Strict: a string that is not UTF-8 has no form.
Result<std::string> canonical(const nlohmann::json& record) {
  try {
    return record.dump();
  } catch (const nlohmann::json::exception& e) {
    return Error{"bad_record", std::string("cannot serialise the record: ") + e.what()};
  }
}

}  // namespace

Status seal(nlohmann::json& record, const BackupKey& key, std::string_view domain) {
  auto bytes = canonical(record);
  if (!bytes) return bytes.error();
  auto mac = key.mac(domain, *bytes);
  if (!mac) return mac.error();
  record[kSealField] = *mac;
  return ok_status();
}

SealCheck check_seal(const nlohmann::json& record, const Result<BackupKey>& key, std::string_view domain) {
  if (!record.is_object() || !record.contains(kSealField)) return {SealState::unsealed, "it carries no MAC", ""};
  const auto& claimed = record[kSealField];
  if (!claimed.is_string()) return {SealState::broken, "its MAC is not a string", ""};
  if (!key) return {SealState::broken, "its MAC cannot be checked: " + key.error().message, ""};
  nlohmann::json rest = record;
  rest.erase(kSealField);
  auto bytes = canonical(rest);
  if (!bytes) return {SealState::broken, bytes.error().message, ""};
  auto expected = key->mac(domain, *bytes);
  if (!expected) return {SealState::broken, expected.error().message, ""};
  const auto& mac = claimed.get_ref<const std::string&>();
  if (!same_mac(mac, *expected)) {
    return {SealState::broken, "its MAC does not match: edited, forged, or sealed with another key", ""};
  }
  return {SealState::sealed, "", mac};
}

}  // namespace agentron
