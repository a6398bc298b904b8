#include "backup/backup_key.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backup/hmac_sha256.h"
#include "tests/read_text.h"
#include "tests/temp_dir.h"

using namespace agentron;
using agentron::testing::TempDir;
using nlohmann::json;

namespace {

std::string hex(const std::string& bytes) {
  std::string out;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

json record() { return {{"name", "manual-20261127T055106Z"}, {"entries", {{{"path", "a"}, {"mode", 420}}}}}; }

}  // namespace

TEST_CASE("HMAC-SHA256 of the RFC 4231 test vectors", "[backup_key]") {
  auto mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  REQUIRE(mac.ok());
  CHECK(hex(*mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  mac = hmac_sha256(std::string(20, '\x0b'), "Hi There");
  REQUIRE(mac.ok());
  CHECK(hex(*mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("the key is created once, 0600 in a 0700 folder, and read back the same", "[backup_key]") {
  TempDir tmp;
  auto file = backup_key_file(tmp.path / ".supervisor");
  CHECK(file == tmp.path / ".supervisor" / "backup.key");
  CHECK(BackupKey::load(file).error().code == kNoBackupKeyCode);
  auto created = BackupKey::load_or_create(file);
  REQUIRE(created.ok());
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(agentron::testing::read_text(file).size() == 65);  // 64 hex digits and a newline
  auto again = BackupKey::load_or_create(file);
  REQUIRE(again.ok());
  CHECK(*again->mac("d", "x") == *created->mac("d", "x"));
}

TEST_CASE("a key file others can read, or a symlink, is not a key", "[backup_key]") {
  TempDir tmp;
  auto file = tmp.path / "backup.key";
  REQUIRE(BackupKey::load_or_create(file).ok());
  ::chmod(file.c_str(), 0644);
  auto loose = BackupKey::load(file);
  REQUIRE_FALSE(loose.ok());
  CHECK(loose.error().message.find("can be read or written by others") != std::string::npos);
  CHECK_FALSE(BackupKey::load_or_create(file).ok());  // never silently replaced
  ::chmod(file.c_str(), 0600);
  auto link = tmp.path / "link.key";
  std::filesystem::create_symlink(file, link);
  CHECK_FALSE(BackupKey::load(link).ok());
  std::ofstream(tmp.path / "short.key") << "abcd\n";
  ::chmod((tmp.path / "short.key").c_str(), 0600);
  CHECK(BackupKey::load(tmp.path / "short.key").error().message.find("not 64 hex digits") != std::string::npos);
}

TEST_CASE("a sealed record checks; any edit, another key or another domain breaks it", "[backup_key]") {
  TempDir tmp;
  auto key = BackupKey::load_or_create(tmp.path / "a.key");
  auto other = BackupKey::load_or_create(tmp.path / "b.key");
  REQUIRE((key.ok() && other.ok()));
  json r = record();
  REQUIRE(seal(r, *key, "domain v1").ok());
  REQUIRE(r.contains(kSealField));
  auto ok = check_seal(r, key, "domain v1");
  CHECK(ok.state == SealState::sealed);
  CHECK(ok.mac == r[kSealField]);
  // Round trip through text (as read from disk), whatever the layout.
  CHECK(check_seal(json::parse(r.dump(4)), key, "domain v1").state == SealState::sealed);

  CHECK(check_seal(r, other, "domain v1").state == SealState::broken);
  CHECK(check_seal(r, key, "domain v2").state == SealState::broken);
  json edited = r;
  edited["entries"][0]["mode"] = 04755;
  auto broken = check_seal(edited, key, "domain v1");
  CHECK(broken.state == SealState::broken);
  CHECK(broken.problem == "its MAC does not match: edited, forged, or sealed with another key");
  json added = r;
  added["extra"] = 1;  // a field this version does not know is covered too
  CHECK(check_seal(added, key, "domain v1").state == SealState::broken);

  CHECK(check_seal(record(), key, "domain v1").state == SealState::unsealed);
  auto no_key = check_seal(r, BackupKey::load(tmp.path / "none.key"), "domain v1");
  CHECK(no_key.state == SealState::broken);
  CHECK(no_key.problem.find("its MAC cannot be checked: there is no backup key") == 0);
}
