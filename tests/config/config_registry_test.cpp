// The key registry against what it drives: the reader, to_toml, and the key tables of
// docs/configuration.md (every registered key documented with the default it really
// has, and no key documented that the registry lacks).
#include "config/config_registry.h"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "tests/config/parse_for_test.h"
#include "tests/read_text.h"

using namespace agentron;
using agentron::testing::all_errors;
using agentron::testing::parse;
using agentron::testing::read_text;

namespace {

// Every section present with only its required keys set.
std::string sections_present() { return read_text(AGENTRON_TEST_CONFIGS "/sections_present.toml"); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// `text` with `line` added at the top of [section].
std::string with_line(const std::string& text, const std::string& section, const std::string& line) {
  std::string header = "[" + section + "]\n";
  std::string out = text;
  return out.insert(out.find(header) + header.size(), line + "\n");
}

// `text` without the line that sets `key` in [section].
std::string without_key(const std::string& text, const std::string& section, const std::string& key) {
  std::string out, current;
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with("[")) current = line.substr(1, line.find(']') - 1);
    bool sets_key = line.starts_with(key + " ") || line.starts_with(key + "=");
    if (!(current == section && sets_key)) out += line + "\n";
  }
  return out;
}

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(' ');
  return first == std::string::npos ? "" : s.substr(first, s.find_last_not_of(' ') - first + 1);
}

// `a value` → a value; anything else as it is.
std::string without_code_marks(const std::string& cell) {
  bool one_span = cell.size() >= 2 && cell.front() == '`' && cell.back() == '`' && cell.find('`', 1) == cell.size() - 1;
  return one_span ? cell.substr(1, cell.size() - 2) : cell;
}

// The key tables of docs/configuration.md: under each "## `[section]`" heading, the rows
// "| `key` | default | meaning |" → section → key → default, as written.
std::map<std::string, std::map<std::string, std::string>> documented_keys() {
  std::map<std::string, std::map<std::string, std::string>> keys;
  std::string section;
  for (const std::string& line : lines_of(read_text(AGENTRON_DOCS "/configuration.md"))) {
    if (line.starts_with("## ")) section = line.starts_with("## `[") ? line.substr(5, line.find(']') - 5) : "";
    if (section.empty() || !line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::istringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(trim(cell));
    if (cells.size() >= 2) keys[section][without_code_marks(cells[0])] = cells[1];
  }
  return keys;
}

std::vector<const SectionSpec*> read_sections() {
  std::vector<const SectionSpec*> sections;
  for (const SectionSpec& section : config_sections()) sections.push_back(&section);
  return sections;
}

}  // namespace

TEST_CASE("section names and the key names within a section are unique", "[config][registry]") {
  std::set<std::string> sections;
  for (const SectionSpec& section : config_sections()) {
    CHECK(sections.insert(section.name).second);
    std::set<std::string> keys;
    for (const KeySpec& key : section.keys) CHECK(keys.insert(key.name).second);
  }
}

TEST_CASE("to_toml prints every registered key of a present section, in the registry's order", "[config][registry]") {
  auto r = parse(sections_present());
  REQUIRE(all_errors(r) == "");
  std::vector<std::string> printed, registered;
  for (const std::string& line : lines_of(to_toml(*r.config))) {
    if (line.starts_with("[")) printed.push_back(line);
    if (!line.empty() && line[0] != '[' && line[0] != '#') printed.push_back(line.substr(0, line.find(' ')));
  }
  for (const SectionSpec* section : read_sections()) {
    registered.push_back("[" + section->name + "]");
    for (const KeySpec& key : section->keys) registered.push_back(key.name);
  }
  CHECK(printed == registered);
}

// Not sections_present.toml: a [fork] without credentials_file prints it as "", which
// does not read back ("must not be empty").
TEST_CASE("the effective config reads back as the same config", "[config][registry]") {
  for (const char* fixture : {"/every_key.toml", "/minimal.toml"}) {
    INFO(fixture);
    auto first = parse(read_text(std::string(AGENTRON_TEST_CONFIGS) + fixture));
    REQUIRE(all_errors(first) == "");
    auto second = parse(to_toml(*first.config));
    REQUIRE(all_errors(second) == "");
    CHECK(to_toml(*second.config) == to_toml(*first.config));
  }
}

TEST_CASE("an unknown key in any section is answered with the registered key it resembles", "[config][registry]") {
  for (const SectionSpec* section : read_sections()) {
    for (const KeySpec& key : section->keys) {
      std::string typo = key.name + "x";
      auto r = parse(with_line(sections_present(), section->name, typo + " = 1"));
      CHECK_THAT(all_errors(r), Catch::Contains("unknown key '" + typo + "' in [" + section->name +
                                                "]; did you mean '" + key.name + "'?"));
    }
  }
}

TEST_CASE("a missing required key is an error that names it and its section", "[config][registry]") {
  int required = 0;
  for (const SectionSpec* section : read_sections()) {
    for (const KeySpec& key : section->keys) {
      if (!key.required) continue;
      ++required;
      auto r = parse(without_key(sections_present(), section->name, key.name));
      CHECK_FALSE(r.config.has_value());
      CHECK_THAT(all_errors(r), Catch::Contains("[" + section->name + "] " + key.name + " is required"));
    }
  }
  CHECK(required == 7);  // [app] data_dir, command; [fork] workspace, fork_url, upstream_url; [proxy] 2
}

TEST_CASE("docs/configuration.md documents every registered key, and only those", "[config][registry][docs]") {
  auto documented = documented_keys();
  std::set<std::string> registered;
  for (const SectionSpec* section : read_sections()) {
    for (const KeySpec& key : section->keys) {
      registered.insert(section->name + "." + key.name);
      INFO("[" + section->name + "] " + key.name + " is registered but not in docs/configuration.md");
      CHECK(documented[section->name].count(key.name) == 1);
    }
  }
  for (const auto& [section, keys] : documented) {
    for (const auto& [key, default_cell] : keys) {
      INFO("docs/configuration.md documents [" + section + "] " + key + ", which the registry lacks");
      CHECK(registered.count(section + "." + key) == 1);
    }
  }
}

// A plain default is checked by what it does: a config that sets the key to the documented
// value has the same effective config as one that leaves it out ("2.0" and 2 agree).
TEST_CASE("docs/configuration.md gives each key the default it has", "[config][registry][docs]") {
  auto documented = documented_keys();
  auto baseline = parse(sections_present());
  REQUIRE(all_errors(baseline) == "");
  for (const SectionSpec* section : read_sections()) {
    for (const KeySpec& key : section->keys) {
      if (!documented[section->name].count(key.name)) continue;  // the test above reports it
      std::string cell = without_code_marks(documented[section->name][key.name]);
      INFO("[" + section->name + "] " + key.name + " is documented with the default: " + cell);
      if (key.required) {
        CHECK(cell == "— (required)");
      } else if (!key.documented_default.empty()) {
        CHECK(cell == key.documented_default);
      } else {
        auto set = parse(with_line(sections_present(), section->name, key.name + " = " + cell));
        REQUIRE(all_errors(set) == "");
        CHECK(to_toml(*set.config) == to_toml(*baseline.config));
      }
    }
  }
}
