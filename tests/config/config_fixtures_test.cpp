// Golden files: each tests/fixtures/configs/NAME.toml beside NAME.expected, what
// `config check` says about it (the errors, or the warnings and the effective config).
// They pin the reader's and to_toml's user-visible output as a whole: a change to a
// message, a default or the printed config shows up as a diff of the .expected file.
// After an intended change, AGENTRON_UPDATE_FIXTURES=1 build/bin/unit_tests rewrites them.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "tests/read_text.h"

using namespace agentron;
using agentron::testing::read_text;
namespace fs = std::filesystem;

namespace {

// What `config check` prints, minus its summary line. The base folder is fixed so that
// relative paths resolve the same on every machine.
std::string check_output(const fs::path& config) {
  ConfigResult r = parse_config(read_text(config), config.filename().string(), "/etc/agentron");
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  if (!r.config) return out;
  for (const auto& w : r.config->warnings) out += "warning: " + w + "\n";
  return out + to_toml(*r.config);
}

}  // namespace

TEST_CASE("each fixture config gives the output in its .expected file", "[config]") {
  bool update = std::getenv("AGENTRON_UPDATE_FIXTURES") != nullptr;
  int fixtures = 0;
  for (const auto& entry : fs::directory_iterator(AGENTRON_TEST_CONFIGS)) {
    if (entry.path().extension() != ".toml") continue;
    ++fixtures;
    fs::path expected = fs::path(entry.path()).replace_extension(".expected");
    std::string actual = check_output(entry.path());
    if (update) std::ofstream(expected, std::ios::binary) << actual;
    INFO(entry.path().filename().string());
    CHECK(actual == read_text(expected));
  }
  CHECK(fixtures >= 10);
}
