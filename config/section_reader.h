// Reads one TOML table into typed fields, remembering which keys it consumed so that
// finish() can report every other key as unknown — with the nearest valid key.
// Only config/ includes toml++.
#pragma once

#include <toml++/toml.h>

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
  SectionReader(const toml::table* table, std::string section, std::string file, std::vector<ConfigError>& errors);

  bool has(const std::string& key);
  bool present() const { return table_ != nullptr; }
  void boolean(const std::string& key, bool& out);
  void string(const std::string& key, std::string& out);
  void path(const std::string& key, std::filesystem::path& out, const std::filesystem::path& base);
  void integer(const std::string& key, int& out, long long min, long long max);
  void number(const std::string& key, double& out, double min, double max);
  void duration(const std::string& key, Duration& out);
  void size(const std::string& key, std::uint64_t& out);
  void signal(const std::string& key, int& out);
  void string_array(const std::string& key, std::vector<std::string>& out);
  void string_map(const std::string& key, std::map<std::string, std::string>& out);

  // Reports an error at the value of `key` (or the section, if the key is absent).
  void error_at(const std::string& key, const std::string& message);
  // Reports unknown keys. Call after every getter.
  void finish();

 private:
  const toml::node* take(const std::string& key);
  void error_at_node(const toml::node* node, const std::string& message);
  void type_error(const std::string& key, const toml::node* node, const char* expected);

  const toml::table* table_;
  std::string section_;
  std::string file_;
  std::vector<ConfigError>& errors_;
  std::vector<std::string> known_;
};

ConfigError error_at_source(const std::string& file, const toml::source_region& where, std::string message);

}  // namespace agentron
