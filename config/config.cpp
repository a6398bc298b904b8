#include "config/config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config_registry.h"
#include "config/nearest_key.h"
#include "config/section_reader.h"

namespace agentron {
namespace {

namespace fs = std::filesystem;

// Unknown sections and sections that are values are errors.
void report_top_level(const toml::table& root, const std::string& file, std::vector<ConfigError>& errors) {
  for (auto&& [key, node] : root) {
    std::string name(key.str());
    const SectionSpec* section = find_section(name);
    if (!section) {
      std::string message = "unknown section [" + name + "]";
      std::string nearest = nearest_key(name, section_names());
      if (!nearest.empty()) message += "; did you mean [" + nearest + "]?";
      errors.push_back(error_at_source(file, key.source(), message));
    } else if (!node.is_table()) {
      errors.push_back(error_at_source(file, node.source(), "'" + name + "' must be a section: write [" + name + "]"));
    }
  }
}

void read_section(const SectionSpec& section, const toml::table* table, const std::string& file, Config& config,
                  std::vector<ConfigError>& errors) {
  SectionReader r(table, section.name, file, config.base_dir, errors);
  if (section.prepare) section.prepare(r, config);
  for (const KeySpec& key : section.keys) {
    if (key.required && section.requires_keys(r.present()) && !r.has(key.name))
      r.error_at(key.name, "[" + section.name + "] " + key.name + " is required" + *key.required);
    key.read(r, config);
  }
  if (section.check) section.check(r, config);
  r.report_unknown_keys(section.key_names());
}

void read_document(const toml::table& root, const std::string& file, Config& config, std::vector<ConfigError>& errors) {
  report_top_level(root, file, errors);
  for (const SectionSpec& section : config_sections()) {
    const toml::table* table = root.get_as<toml::table>(section.name);
    if (!table && !section.missing_error.empty()) errors.push_back(ConfigError{file, 1, 1, section.missing_error});
    read_section(section, table, file, config, errors);
  }
}

void write_section(const SectionSpec& section, const Config& config, std::string& out) {
  size_t width = 0;
  for (const KeySpec& key : section.keys) width = std::max(width, key.name.size());
  for (const KeySpec& key : section.keys) {
    out += key.name + std::string(width - key.name.size(), ' ') + " = " + key.write(config) + "\n";
  }
}

}  // namespace

bool separate_state_dir(const AppConfig& app) {
  return !app.state_dir.empty() && app.state_dir != app.data_dir / ".supervisor";
}

std::string control_listen_address(const ControlConfig& control) {
  bool v6 = control.listen_host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + control.listen_host + "]" : control.listen_host;
  return host + ":" + std::to_string(control.listen_port);
}

std::string ConfigError::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

const char* to_string(RestartPolicyKind kind) {
  switch (kind) {
    case RestartPolicyKind::always: return "always";
    case RestartPolicyKind::on_failure: return "on-failure";
    case RestartPolicyKind::never: return "never";
  }
  return "?";
}

ConfigResult parse_config(const std::string& text, const std::string& source, const fs::path& base_dir) {
  ConfigResult result;
  toml::table root;
  try {
    root = toml::parse(text, std::string(source));
  } catch (const toml::parse_error& e) {
    result.errors.push_back(error_at_source(source, e.source(), std::string(e.description())));
    return result;
  }
  Config config;
  config.source = source;
  config.base_dir = base_dir;
  read_document(root, source, config, result.errors);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigResult load_config_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult result;
    result.errors.push_back(
        ConfigError{path.string(), 1, 1, std::string("cannot read config file: ") + std::strerror(errno)});
    return result;
  }
  std::stringstream text;
  text << in.rdbuf();
  fs::path absolute = fs::absolute(path).lexically_normal();
  return parse_config(text.str(), path.string(), absolute.parent_path());
}

fs::path locate_config(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("AGENTRON_SUPERVISOR_CONFIG"); env && *env) return env;
  if (fs::exists("agentron-supervisor.toml")) return "agentron-supervisor.toml";
  return {};
}

const char* to_string(ReadinessKind kind) {
  switch (kind) {
    case ReadinessKind::http: return "http";
    case ReadinessKind::tcp: return "tcp";
    case ReadinessKind::record: return "record";
    case ReadinessKind::none: return "none";
  }
  return "?";
}

const char* to_string(VerificationKind kind) {
  switch (kind) {
    case VerificationKind::probe: return "probe";
    case VerificationKind::record: return "record";
    case VerificationKind::none: return "none";
  }
  return "?";
}

const char* to_string(HandoverStrategy strategy) {
  return strategy == HandoverStrategy::overlap ? "overlap" : "stop-first";
}

std::string to_toml(const Config& config) {
  std::string out = "# effective configuration of " + config.source + "\n";
  bool first = true;
  for (const SectionSpec& section : config_sections()) {
    if (section.shown && !section.shown(config)) continue;
    out += (first ? "[" : "\n[") + section.name + "]\n";
    first = false;
    write_section(section, config, out);
  }
  return out;
}

}  // namespace agentron
