// write_file_atomically in a folder another user may write (the requests folder, which
// the app's user owns): a symlink planted at the temporary name or at the final name is
// never followed — the red team's root-write through requests/ (docs/security.md).
#include "common/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/read_text.h"

namespace fs = std::filesystem;
using namespace agentron;
using agentron::testing::read_text;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/atomic-file-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("a symlink at the temporary name is refused, and its target is untouched", "[common][atomic_file]") {
  TempDir t;
  fs::create_directory(t.path / "requests");
  std::ofstream(t.path / "secret") << "root's own\n";
  fs::create_symlink(t.path / "secret", t.path / "requests" / ".r.json.tmp-planted");
  auto s = write_file_atomically_named(t.path / "requests" / "r.json", "{}\n", 0600, ".r.json.tmp-planted");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == "tmp_exists");
  CHECK(read_text(t.path / "secret") == "root's own\n");
  CHECK_FALSE(fs::exists(t.path / "requests" / "r.json"));
}

TEST_CASE("a symlink at the final name is replaced, not written through", "[common][atomic_file]") {
  TempDir t;
  std::ofstream(t.path / "secret") << "root's own\n";
  fs::create_symlink(t.path / "secret", t.path / "r.json");
  REQUIRE(write_file_atomically(t.path / "r.json", "{\"a\":1}\n", 0600));
  CHECK(read_text(t.path / "secret") == "root's own\n");
  CHECK_FALSE(fs::is_symlink(t.path / "r.json"));
  CHECK(read_text(t.path / "r.json") == "{\"a\":1}\n");
  struct stat st {};
  REQUIRE(::stat((t.path / "r.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Nothing else is left in the folder: the temporary file was renamed.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(t.path)) ++entries;
  CHECK(entries == 2);
}
