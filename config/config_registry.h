// The one list of config keys (docs/design.md §9, docs/configuration.md): per section, each
// key's name, how it is read and checked into its member of Config, and how the
// member is written back. parse_config reads by it, to_toml prints by it, and
// tests/config/config_registry_test.cpp checks the docs against it — adding a key is
// its member in config.h, one entry here and its row in the docs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace agentron {

class SectionReader;

struct KeySpec {
  std::string name;
  // Reads the key, when present, into its member; a wrong value is reported, the member kept.
  std::function<void(SectionReader&, Config&)> read;
  // The member's value as TOML, as the effective config shows it.
  std::function<std::string(const Config&)> write;
  // Set: the key must be present whenever its section is read; the error's text after "is required".
  std::optional<std::string> required;
  // How the docs state a default that no config could write (one derived from other keys, or
  // none at all). Empty: the default is whatever the member holds when the key is absent.
  std::string documented_default;

  KeySpec must_be_set(std::string rest_of_error) &&;
  KeySpec documented_as(std::string default_text) &&;
};

struct SectionSpec {
  std::string name;
  std::vector<KeySpec> keys;
  // Non-empty: the section must be present, and this is the error when it is not.
  std::string missing_error;
  // Before the keys: the defaults that depend on the section's presence or on earlier sections.
  std::function<void(SectionReader&, Config&)> prepare;
  // After the keys: the checks that involve more than one key or section.
  std::function<void(SectionReader&, Config&)> check;
  // Whether the effective config shows the section; null: always.
  std::function<bool(const Config&)> shown;

  std::vector<std::string> key_names() const;
  // Whether its required keys must be present: in a required section always, else when it is.
  bool requires_keys(bool present) const { return present || !missing_error.empty(); }
};

// Every section, in the order they are read and printed: a section may use the values of
// the sections before it (e.g. [handover] alternate_port defaults to [app] port + 1).
const std::vector<SectionSpec>& config_sections();

// The section called `name`, or null if there is none.
const SectionSpec* find_section(std::string_view name);
std::vector<std::string> section_names();

}  // namespace agentron
