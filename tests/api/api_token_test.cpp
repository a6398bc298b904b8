// The control API's token file (api/api_token.h): made once, private, and refused
// whenever anyone but the supervisor's user could have read or replaced it.
#include "api/api_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/read_text.h"
#include "tests/temp_dir.h"

using namespace agentron;
using agentron::testing::read_text;
using agentron::testing::TempDir;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void write_file(const fs::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("the first load makes a 256-bit hex token, 0600, in a 0700 folder it creates", "[api][token]") {
  TempDir tmp;
  fs::path file = tmp.path / "state" / "api.token";
  auto token = load_or_create_api_token(file);
  REQUIRE(token.ok());
  CHECK(token->size() == 64);
  CHECK(token->find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(read_text(file) == *token + "\n");
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(file.parent_path()) == 0700);

  auto again = load_or_create_api_token(file);
  REQUIRE(again.ok());
  CHECK(*again == *token);
  TempDir other;
  auto another = load_or_create_api_token(other.path / "api.token");
  REQUIRE(another.ok());
  CHECK(*another != *token);
}

TEST_CASE("a token made under a permissive umask is still 0600", "[api][token]") {
  TempDir tmp;
  mode_t old = ::umask(0);
  auto token = load_or_create_api_token(tmp.path / "api.token");
  ::umask(old);
  REQUIRE(token.ok());
  CHECK(mode_of(tmp.path / "api.token") == 0600);
}

TEST_CASE("a token file others may read or write is refused, saying chmod 600", "[api][token]") {
  TempDir tmp;
  fs::path file = tmp.path / "api.token";
  for (mode_t mode : {0640, 0604, 0620, 0602, 0644, 0660}) {
    INFO(mode);
    write_file(file, std::string(64, 'f') + "\n", mode);
    auto token = load_or_create_api_token(file);
    REQUIRE_FALSE(token.ok());
    CHECK_THAT(token.error().message, Catch::Contains("can be read or written by group or others"));
    CHECK_THAT(token.error().message, Catch::Contains("`chmod 600 " + file.string() + "`"));
    CHECK(token.error().message.find("ffffffff") == std::string::npos);
  }
  write_file(file, std::string(64, 'f') + "\n", 0400);  // read-only for its owner is fine
  auto token = load_or_create_api_token(file);
  REQUIRE(token.ok());
  CHECK(*token == std::string(64, 'f'));
}

TEST_CASE("a token file owned by another user is refused", "[api][token]") {
  if (::geteuid() != 0) return;  // only root can give a file away
  TempDir tmp;
  fs::path file = tmp.path / "api.token";
  write_file(file, std::string(64, 'f') + "\n", 0600);
  REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
  auto token = load_or_create_api_token(file);
  REQUIRE_FALSE(token.ok());
  CHECK_THAT(token.error().message, Catch::Contains("is owned by uid 65534, not by the supervisor's user (uid 0)"));
}

TEST_CASE("a symlink at the token's name is refused, not followed, and nothing is made at its target", "[api][token]") {
  TempDir tmp;
  fs::path target = tmp.path / "elsewhere";
  fs::create_symlink(target, tmp.path / "api.token");
  auto token = load_or_create_api_token(tmp.path / "api.token");
  REQUIRE_FALSE(token.ok());
  CHECK_THAT(token.error().message, Catch::Contains("is a symlink"));
  CHECK_FALSE(fs::exists(target));

  write_file(target, std::string(64, 'f') + "\n", 0600);  // a link to a good file: refused all the same
  CHECK_FALSE(load_or_create_api_token(tmp.path / "api.token").ok());
}

TEST_CASE("a token path that is not a regular file is refused", "[api][token]") {
  TempDir tmp;
  fs::create_directory(tmp.path / "api.token");
  ::chmod((tmp.path / "api.token").c_str(), 0700);
  auto dir = load_or_create_api_token(tmp.path / "api.token");
  REQUIRE_FALSE(dir.ok());
  CHECK_THAT(dir.error().message, Catch::Contains("is not a regular file"));
  REQUIRE(::mkfifo((tmp.path / "fifo").c_str(), 0600) == 0);
  auto fifo = load_or_create_api_token(tmp.path / "fifo");  // refused, not waited on
  REQUIRE_FALSE(fifo.ok());
  CHECK_THAT(fifo.error().message, Catch::Contains("is not a regular file"));
}

TEST_CASE("an empty, short or binary token file is refused with what to do", "[api][token]") {
  TempDir tmp;
  fs::path file = tmp.path / "api.token";
  for (std::string text : {std::string(""), std::string("\n"), std::string(31, 'a') + "\n",
                           std::string(40, 'a') + " b\n", std::string(40, 'a') + "\xff"}) {
    INFO(text);
    write_file(file, text, 0600);
    auto token = load_or_create_api_token(file);
    REQUIRE_FALSE(token.ok());
    CHECK_THAT(token.error().message, Catch::Contains("delete it (`rm " + file.string() + "`)"));
  }
  write_file(file, std::string(32, 'a'), 0600);  // 32 characters, no newline: a token
  CHECK(load_or_create_api_token(file).ok());
}
