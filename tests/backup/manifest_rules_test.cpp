#include "backup/manifest_rules.h"

#include <catch2/catch.hpp>

using namespace agentron;

namespace {

ManifestEntry dir_entry(const std::string& path) { return {path, EntryType::dir, 0, 0755, 1, "", "", "", {}}; }
ManifestEntry file_entry(const std::string& path, std::uint32_t mode = 0644) {
  return {path, EntryType::file, 1, mode, 1, std::string(64, 'a'), "", "", {}};
}
ManifestEntry symlink_entry(const std::string& path, const std::string& target) {
  return {path, EntryType::symlink, 0, 0777, 1, "", target, "", {}};
}

std::vector<std::string> problems_of(std::vector<ManifestEntry> entries) {
  Manifest m;
  m.entries = std::move(entries);
  return manifest_problems(m);
}

}  // namespace

TEST_CASE("an entry path is relative, normalised and never leaves the data dir", "[manifest_rules]") {
  CHECK_FALSE(path_problem("a.txt"));
  CHECK_FALSE(path_problem("files/f0001.bin"));
  CHECK_FALSE(path_problem("..hidden/x..y"));  // dots inside a name are a name
  CHECK(path_problem("../escaped.txt") == "a '..' path component");
  CHECK(path_problem("files/../../outside/x") == "a '..' path component");
  CHECK(path_problem("files/..") == "a '..' path component");
  CHECK(path_problem("./a") == "a '.' path component");
  CHECK(path_problem("/etc/passwd") == "an absolute path");
  CHECK(path_problem("a//b") == "an empty path component (a '//' or a trailing '/')");
  CHECK(path_problem("a/") == "an empty path component (a '//' or a trailing '/')");
  CHECK(path_problem("") == "an empty path");
  CHECK(path_problem(std::string("a\0b", 3)) == "a path with a NUL byte");
  CHECK(path_problem(".supervisor/backup.key") == "under .supervisor/, the supervisor's own state");
  CHECK_FALSE(path_problem("files/.supervisor"));  // only the top-level one is the supervisor's
  CHECK(path_problem(std::string(256, 'n')) == "a name longer than 255 bytes");
}

TEST_CASE("a valid manifest has no problems", "[manifest_rules]") {
  CHECK(problems_of({dir_entry("files"), file_entry("files/a.bin"), symlink_entry("files/to-outside", "/etc/passwd"),
                     dir_entry("files/sub"), file_entry("files/sub/b.bin", 0600)})
            .empty());
}

TEST_CASE("each bad entry is named with what is wrong with it", "[manifest_rules]") {
  auto problems =
      problems_of({file_entry("../escaped.txt"), file_entry("/abs"), dir_entry("ok"), file_entry("ok/x", 04755),
                   file_entry("ok/y", 02755), dir_entry("ok/tmp"), file_entry("ok/z", 01644)});
  REQUIRE(problems.size() == 5);
  CHECK(problems[0] == "../escaped.txt: a '..' path component");
  CHECK(problems[1] == "/abs: an absolute path");
  CHECK(problems[2] == "ok/x: mode 4755: setuid, setgid and sticky bits are never restored");
  CHECK(problems[3] == "ok/y: mode 2755: setuid, setgid and sticky bits are never restored");
  CHECK(problems[4] == "ok/z: mode 1644: setuid, setgid and sticky bits are never restored");
  auto sticky_dir = dir_entry("shared");
  sticky_dir.mode = 01777;
  CHECK(problems_of({sticky_dir}) ==
        std::vector<std::string>{"shared: mode 1777: setuid, setgid and sticky bits are never restored"});
}

TEST_CASE("nothing sits under a symlink, a file, or a folder not listed before it", "[manifest_rules]") {
  CHECK(problems_of({symlink_entry("d", "/tmp/outside"), file_entry("d/x")}) ==
        std::vector<std::string>{"d/x: under d, which is a symlink"});
  CHECK(problems_of({file_entry("f"), file_entry("f/x")}) == std::vector<std::string>{"f/x: under f, which is a file"});
  CHECK(problems_of({file_entry("d/x"), dir_entry("d")}) ==
        std::vector<std::string>{"d/x: its folder d is not listed before it"});
  // The same path twice: a folder, then a symlink in its place, then a file "under" it.
  CHECK(problems_of({dir_entry("d"), symlink_entry("d", "/tmp/outside"), file_entry("d/x")}) ==
        std::vector<std::string>{"d: listed twice"});
}

TEST_CASE("a symlink needs a target and a file a SHA-256", "[manifest_rules]") {
  auto no_hash = file_entry("a");
  no_hash.sha256 = "../../etc";
  CHECK(problems_of({symlink_entry("l", ""), no_hash}) ==
        std::vector<std::string>{"l: a symlink without a usable target", "a: no SHA-256 (64 lowercase hex digits)"});
}
