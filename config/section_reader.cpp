#include "config/section_reader.h"

#include <algorithm>
#include <cmath>

#include "config/nearest_key.h"
#include "config/signals.h"

namespace agentron {

ConfigError error_at_source(const std::string& file, const toml::source_region& where, std::string message) {
  return ConfigError{file, static_cast<int>(std::max<toml::source_index>(where.begin.line, 1)),
                     static_cast<int>(std::max<toml::source_index>(where.begin.column, 1)), std::move(message)};
}

SectionReader::SectionReader(const toml::table* table, std::string section, std::string file,
                             std::filesystem::path base_dir, std::vector<ConfigError>& errors)
    : table_(table),
      section_(std::move(section)),
      file_(std::move(file)),
      base_dir_(std::move(base_dir)),
      errors_(errors) {}

void SectionReader::error_at_node(const toml::node* node, const std::string& message) {
  toml::source_region where = node ? node->source() : (table_ ? table_->source() : toml::source_region{});
  errors_.push_back(error_at_source(file_, where, message));
}

void SectionReader::error_at(const std::string& key, const std::string& message) { error_at_node(get(key), message); }

void SectionReader::type_error(const std::string& key, const toml::node* node, const char* expected) {
  error_at_node(node, "[" + section_ + "] " + key + " must be " + expected);
}

void SectionReader::string(const std::string& key, std::string& out) {
  const toml::node* node = get(key);
  if (!node) return;
  if (auto v = node->value_exact<std::string>())
    out = *v;
  else
    type_error(key, node, "a string");
}

void SectionReader::boolean(const std::string& key, bool& out) {
  const toml::node* node = get(key);
  if (!node) return;
  if (auto v = node->value_exact<bool>())
    out = *v;
  else
    type_error(key, node, "true or false");
}

void SectionReader::path(const std::string& key, std::filesystem::path& out) {
  std::string text;
  const toml::node* node = get(key);
  string(key, text);
  if (!node || !node->is_string()) return;
  if (text.empty()) {
    error_at_node(node, "[" + section_ + "] " + key + " must not be empty");
    return;
  }
  std::filesystem::path p(text);
  out = (p.is_absolute() ? p : base_dir_ / p).lexically_normal();
}

void SectionReader::integer(const std::string& key, int& out, long long min, long long max) {
  const toml::node* node = get(key);
  if (!node) return;
  auto v = node->value_exact<int64_t>();
  if (!v) return type_error(key, node, "an integer");
  if (*v < min || *v > max) {
    return error_at_node(node, "[" + section_ + "] " + key + " = " + std::to_string(*v) + " is out of range " +
                                   std::to_string(min) + ".." + std::to_string(max));
  }
  out = static_cast<int>(*v);
}

void SectionReader::number(const std::string& key, double& out, double min, double max) {
  const toml::node* node = get(key);
  if (!node) return;
  std::optional<double> v;
  if (auto d = node->value_exact<double>())
    v = *d;
  else if (auto i = node->value_exact<int64_t>())
    v = static_cast<double>(*i);
  if (!v) return type_error(key, node, "a number");
  if (!std::isfinite(*v) || *v < min || *v > max) {
    return error_at_node(
        node, "[" + section_ + "] " + key + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  out = *v;
}

void SectionReader::duration(const std::string& key, Duration& out) {
  const toml::node* node = get(key);
  if (!node) return;
  auto text = node->value_exact<std::string>();
  if (!text) return type_error(key, node, "a duration string such as \"250ms\", \"10s\" or \"5m\"");
  auto d = parse_duration(*text);
  if (!d) {
    return error_at_node(node, "[" + section_ + "] " + key + " = \"" + *text +
                                   "\" is not a duration; write a number and a unit (ms, s, m, h), "
                                   "e.g. \"250ms\", \"10s\", \"5m\"");
  }
  out = *d;
}

void SectionReader::size(const std::string& key, std::uint64_t& out) {
  const toml::node* node = get(key);
  if (!node) return;
  if (auto i = node->value_exact<int64_t>(); i && *i >= 0) {
    out = static_cast<std::uint64_t>(*i);
    return;
  }
  auto text = node->value_exact<std::string>();
  auto s = text ? parse_size(*text) : std::nullopt;
  if (!s) return type_error(key, node, "a size such as \"10MiB\", \"512KiB\" or a byte count");
  out = *s;
}

void SectionReader::signal(const std::string& key, int& out) {
  const toml::node* node = get(key);
  if (!node) return;
  auto text = node->value_exact<std::string>();
  if (!text) return type_error(key, node, "a signal name such as \"SIGTERM\"");
  int signo = parse_signal_name(*text);
  if (signo == 0) {
    return error_at_node(node, "[" + section_ + "] " + key + " = \"" + *text +
                                   "\" is not a signal; use one of SIGTERM, SIGINT, SIGHUP, SIGQUIT, "
                                   "SIGUSR1, SIGUSR2, SIGKILL");
  }
  out = signo;
}

void SectionReader::string_array(const std::string& key, std::vector<std::string>& out) {
  const toml::node* node = get(key);
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array) return type_error(key, node, "an array of strings");
  std::vector<std::string> values;
  for (const toml::node& element : *array) {
    auto v = element.value_exact<std::string>();
    if (!v) return type_error(key, &element, "an array of strings");
    values.push_back(*v);
  }
  out = std::move(values);
}

void SectionReader::string_map(const std::string& key, std::map<std::string, std::string>& out) {
  const toml::node* node = get(key);
  if (!node) return;
  out.clear();
  const toml::table* table = node->as_table();
  if (!table) return type_error(key, node, "a table of strings, e.g. { NAME = \"value\" }");
  std::map<std::string, std::string> values;
  for (auto&& [name, value] : *table) {
    auto v = value.value_exact<std::string>();
    if (!v) return type_error(key + "." + std::string(name.str()), &value, "a string");
    values[std::string(name.str())] = *v;
  }
  out = std::move(values);
}

void SectionReader::report_unknown_keys(const std::vector<std::string>& known) {
  if (!table_) return;
  for (auto&& [key, value] : *table_) {
    std::string name(key.str());
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string message = "unknown key '" + name + "' in [" + section_ + "]";
    std::string nearest = nearest_key(name, known);
    if (!nearest.empty()) message += "; did you mean '" + nearest + "'?";
    errors_.push_back(error_at_source(file_, key.source(), message));
  }
}

}  // namespace agentron
