// Reads one TOML table into typed fields: each getter checks its kind of value and
// reports a wrong one at its file:line:column. Which keys a section has is the
// registry's (config/config_registry.h); only config/ includes toml++.
#pragma once

#include <toml++/toml.h>

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/duration.h"
#include "config/config.h"

namespace agentron {

class SectionReader {
 public:
  // `table` may be null (section absent): every getter then keeps its default.
  // Relative paths resolve against `base_dir`.
  SectionReader(const toml::table* table, std::string section, std::string file, std::filesystem::path base_dir,
                std::vector<ConfigError>& errors);

  bool has(const std::string& key) const { return table_ && table_->contains(key); }
  bool present() const { return table_ != nullptr; }
  // Whether `key` is present with a string value (for a key that takes a string or another kind).
  bool holds_string(const std::string& key) const { return get(key) && get(key)->is_string(); }
  const std::string& section() const { return section_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }

  void boolean(const std::string& key, bool& out);
  void string(const std::string& key, std::string& out);
  void path(const std::string& key, std::filesystem::path& out);
  void integer(const std::string& key, int& out, long long min, long long max);
  void number(const std::string& key, double& out, double min, double max);
  void duration(const std::string& key, Duration& out);
  void size(const std::string& key, std::uint64_t& out);
  void signal(const std::string& key, int& out);
  void string_array(const std::string& key, std::vector<std::string>& out);
  // A present key replaces the whole map: a wrong value leaves it empty, not at its default.
  void string_map(const std::string& key, std::map<std::string, std::string>& out);
  // One of `kinds`, written as to_string(kind).
  template <typename Kind, size_t N>
  void choice(const std::string& key, const std::array<Kind, N>& kinds, Kind& out);

  // Reports an error at the value of `key` (or the section, if the key is absent).
  void error_at(const std::string& key, const std::string& message);
  // Reports every key of the table that is not in `known`, with the nearest known key.
  void report_unknown_keys(const std::vector<std::string>& known);

 private:
  const toml::node* get(const std::string& key) const { return table_ ? table_->get(key) : nullptr; }
  void error_at_node(const toml::node* node, const std::string& message);
  void type_error(const std::string& key, const toml::node* node, const char* expected);

  const toml::table* table_;
  std::string section_;
  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<ConfigError>& errors_;
};

template <typename Kind, size_t N>
void SectionReader::choice(const std::string& key, const std::array<Kind, N>& kinds, Kind& out) {
  std::string value = to_string(out);
  string(key, value);
  std::string names;
  for (Kind kind : kinds) {
    if (value == to_string(kind)) {
      out = kind;
      return;
    }
    names += (names.empty() ? "" : ", ") + std::string(to_string(kind));
  }
  error_at(key, "[" + section_ + "] " + key + " = \"" + value + "\" is not one of " + names);
}

ConfigError error_at_source(const std::string& file, const toml::source_region& where, std::string message);

}  // namespace agentron
