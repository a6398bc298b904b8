#include "config/config.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/nearest_key.h"
#include "config/placeholders.h"
#include "config/section_reader.h"
#include "db/sqlite_db.h"

namespace agentron {
namespace {

namespace fs = std::filesystem;

// Sections of DESIGN §9 that later versions implement. Until then they are accepted
// with a warning, so a full config file does not stop the supervisor from starting.
const std::vector<std::string> kPlannedSections = {"control"};
const std::vector<std::string> kSections = {"app",  "restart",  "health", "backup",
                                            "fork", "handover", "proxy",  "control"};

void read_app(SectionReader& r, const fs::path& base, AppConfig& app) {
  if (!r.has("data_dir"))
    r.error_at("data_dir",
               "[app] data_dir is required: the pinned AGENTRON_DATA_DIR, e.g. data_dir = \"/var/lib/agentron/data\"");
  r.path("data_dir", app.data_dir, base);
  app.release = base;
  r.path("release", app.release, base);
  r.string_array("command", app.command);
  r.string("working_dir", app.working_dir);
  r.string_map("env", app.env);
  r.integer("port", app.port, 1, 65535);
  r.signal("stop_signal", app.stop_signal);
  r.duration("stop_timeout", app.stop_timeout);
  r.size("log_max_size", app.log_max_size);
  r.integer("log_keep", app.log_keep, 0, 1000);
  r.integer("keep_instances", app.keep_instances, 1, 100000);

  if (!r.has("command"))
    r.error_at("command", "[app] command is required, e.g. command = [\"node\", \"{release}/server.js\"]");
  else if (app.command.empty())
    r.error_at("command", "[app] command must name a program: it is empty");
  for (const auto& arg : app.command) {
    if (auto problem = check_placeholders(arg)) r.error_at("command", "[app] command: " + *problem);
  }
  if (auto problem = check_placeholders(app.working_dir)) r.error_at("working_dir", "[app] working_dir: " + *problem);
  for (const auto& [name, value] : app.env) {
    if (auto problem = check_placeholders(value)) r.error_at("env", "[app] env." + name + ": " + *problem);
    if (name == "AGENTRON_DATA_DIR") {
      r.error_at("env",
                 "[app] env.AGENTRON_DATA_DIR cannot be set here: the supervisor always pins it to [app] data_dir");
    } else if (name == "PORT" || name == "AGENTRON_INSTANCE_ID" || name == "AGENTRON_VERIFICATION_FILE" ||
               name == "AGENTRON_RELEASE_COMMIT") {
      r.error_at("env", "[app] env." + name + " is set by the supervisor for every instance; remove it" +
                            (name == "PORT" ? " and use [app] port" : ""));
    }
  }
  if (app.data_dir == "/") r.error_at("data_dir", "[app] data_dir must not be the root directory");
  if (app.log_max_size != 0 && app.log_max_size < 4096)
    r.error_at("log_max_size", "[app] log_max_size must be 0 (no rotation) or at least 4KiB");
}

void read_restart(SectionReader& r, RestartConfig& restart) {
  std::string policy = to_string(restart.policy);
  r.string("policy", policy);
  if (policy == "always")
    restart.policy = RestartPolicyKind::always;
  else if (policy == "on-failure")
    restart.policy = RestartPolicyKind::on_failure;
  else if (policy == "never")
    restart.policy = RestartPolicyKind::never;
  else
    r.error_at("policy", "[restart] policy = \"" + policy + "\" is not one of always, on-failure, never");
  r.duration("backoff_initial", restart.backoff_initial);
  r.number("backoff_factor", restart.backoff_factor, 1.0, 100.0);
  r.duration("backoff_max", restart.backoff_max);
  r.integer("max_restarts", restart.max_restarts, 0, 1'000'000);
  r.duration("restart_window", restart.restart_window);
  r.duration("stable_after", restart.stable_after);
  if (restart.backoff_max < restart.backoff_initial) {
    r.error_at("backoff_max", "[restart] backoff_max (" + format_duration(restart.backoff_max) +
                                  ") must not be less than backoff_initial (" +
                                  format_duration(restart.backoff_initial) + ")");
  }
}

template <typename Kind, size_t N>
void read_choice(SectionReader& r, const std::string& key, const std::array<Kind, N>& kinds, Kind& out) {
  std::string value = to_string(out);
  r.string(key, value);
  std::string names;
  for (Kind k : kinds) {
    if (value == to_string(k)) {
      out = k;
      return;
    }
    names += (names.empty() ? "" : ", ") + std::string(to_string(k));
  }
  r.error_at(key, "[health] " + key + " = \"" + value + "\" is not one of " + names);
}

void read_health(SectionReader& r, HealthConfig& health) {
  health.configured = r.present();
  if (health.configured) {  // DESIGN §9's defaults, for an app like Agentron
    health.readiness = ReadinessKind::http;
    health.verification = VerificationKind::probe;
    health.counts = {{"agents", "SELECT count(*) FROM agents"}, {"runs", "SELECT count(*) FROM executions"}};
  }
  read_choice(r, "readiness",
              std::array{ReadinessKind::http, ReadinessKind::tcp, ReadinessKind::record, ReadinessKind::none},
              health.readiness);
  r.string("url", health.url);
  r.duration("interval", health.interval);
  r.duration("timeout", health.timeout);
  r.duration("try_timeout", health.try_timeout);
  read_choice(r, "verification", std::array{VerificationKind::probe, VerificationKind::record, VerificationKind::none},
              health.verification);
  r.string("database", health.database);
  if (r.has("counts")) {
    health.counts.clear();
    r.string_map("counts", health.counts);
  }
  r.duration("busy_timeout", health.busy_timeout);

  if (auto problem = check_placeholders(health.url)) r.error_at("url", "[health] url: " + *problem);
  if (health.readiness == ReadinessKind::http && health.url.rfind("http://", 0) != 0) {
    r.error_at("url", "[health] url must start with http:// (the probe talks plain HTTP to a local port)");
  }
  if (health.interval <= Duration(0)) r.error_at("interval", "[health] interval must be more than 0");
  if (health.timeout < health.interval) {
    r.error_at("timeout", "[health] timeout (" + format_duration(health.timeout) + ") must be at least interval (" +
                              format_duration(health.interval) + ")");
  }
  if (health.try_timeout <= Duration(0)) r.error_at("try_timeout", "[health] try_timeout must be more than 0");
  if (health.database.empty() || fs::path(health.database).is_absolute()) {
    r.error_at("database", "[health] database is a path relative to data_dir, e.g. \"agentron.sqlite\"");
  }
  if (health.verification == VerificationKind::probe && health.counts.empty()) {
    r.error_at("counts",
               "[health] verification = \"probe\" needs counts, e.g. counts = { agents = "
               "\"SELECT count(*) FROM agents\" }");
  }
  for (const auto& [name, sql] : health.counts) {
    if (auto s = check_count_query(sql); !s) {
      r.error_at("counts", "[health] counts." + name + ": " + s.error().message + " in: " + sql);
    }
  }
}

void read_handover(SectionReader& r, int app_port, HandoverConfig& handover) {
  std::string strategy = to_string(handover.strategy);
  r.string("strategy", strategy);
  if (strategy == "overlap")
    handover.strategy = HandoverStrategy::overlap;
  else if (strategy == "stop-first")
    handover.strategy = HandoverStrategy::stop_first;
  else
    r.error_at("strategy", "[handover] strategy = \"" + strategy + "\" is not one of overlap, stop-first");
  r.boolean("require_approval", handover.require_approval);
  r.duration("verify_timeout", handover.verify_timeout);
  r.duration("probation", handover.probation);
  handover.alternate_port = app_port < 65535 ? app_port + 1 : app_port - 1;
  r.integer("alternate_port", handover.alternate_port, 1, 65535);
  if (handover.alternate_port == app_port) {
    r.error_at("alternate_port", "[handover] alternate_port must differ from [app] port (" + std::to_string(app_port) +
                                     "): old and new instance run side by side");
  }
  if (handover.verify_timeout <= Duration(0))
    r.error_at("verify_timeout", "[handover] verify_timeout must be more than 0");
}

void read_proxy(SectionReader& r, int app_port, ProxyConfig& proxy) {
  proxy.configured = r.present();
  if (!proxy.configured) return;
  std::string listen, ports;
  if (!r.has("listen")) r.error_at("listen", "[proxy] listen is required, e.g. listen = \"127.0.0.1:3000\"");
  r.string("listen", listen);
  if (!r.has("instance_ports")) {
    r.error_at("instance_ports", "[proxy] instance_ports is required, e.g. instance_ports = \"3101-3199\"");
  }
  r.string("instance_ports", ports);
  r.duration("drain_timeout", proxy.drain_timeout);
  r.duration("queue_timeout", proxy.queue_timeout);
  r.integer("queue_limit", proxy.queue_limit, 1, 1'000'000);
  r.size("buffer", proxy.buffer);
  r.duration("busy_poll", proxy.busy_poll);
  r.integer("nice", proxy.nice, -20, 19);
  if (proxy.busy_poll > std::chrono::milliseconds(1)) {
    r.error_at("busy_poll", "[proxy] busy_poll = \"" + format_duration(proxy.busy_poll) +
                                "\" is too long: it is a spin after each event, 10us-200us helps, more only "
                                "burns CPU (\"0s\" turns it off)");
  }
  auto colon = listen.rfind(':');
  char* end = nullptr;
  long port = colon == std::string::npos ? 0 : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (!listen.empty() && (colon == std::string::npos || colon == 0 || *end != '\0' || port < 1 || port > 65535)) {
    r.error_at("listen", "[proxy] listen = \"" + listen + "\" is not host:port, e.g. \"127.0.0.1:3000\"");
  } else if (!listen.empty()) {
    proxy.listen_host = listen.substr(0, colon);
    proxy.listen_port = static_cast<int>(port);
  }
  auto dash = ports.find('-');
  long first = dash == std::string::npos ? 0 : std::strtol(ports.c_str(), &end, 10);
  bool first_ok = dash != std::string::npos && end == ports.c_str() + dash;
  long last = first_ok ? std::strtol(ports.c_str() + dash + 1, &end, 10) : 0;
  if (!ports.empty() && (!first_ok || *end != '\0' || first < 1 || last > 65535 || last - first < 1)) {
    r.error_at("instance_ports",
               "[proxy] instance_ports = \"" + ports + "\" is not a range of at least two ports, e.g. \"3101-3199\"");
  } else if (!ports.empty()) {
    proxy.first_port = static_cast<int>(first);
    proxy.last_port = static_cast<int>(last);
    if (proxy.listen_port >= first && proxy.listen_port <= last) {
      r.error_at("instance_ports",
                 "[proxy] instance_ports must not include the listen port " + std::to_string(proxy.listen_port));
    }
  }
  if (proxy.buffer < 1024) r.error_at("buffer", "[proxy] buffer must be at least 1KiB");
  (void)app_port;
}

void read_backup(SectionReader& r, const fs::path& base, const fs::path& data_dir, BackupConfig& backup) {
  std::string dir = "{data_dir}/backups";
  r.string("dir", dir);
  if (auto problem = check_placeholders(dir)) {
    r.error_at("dir", "[backup] dir: " + *problem);
  } else if (dir.find("{release}") != std::string::npos || dir.find("{port}") != std::string::npos ||
             dir.find("{instance_id}") != std::string::npos) {
    r.error_at("dir", "[backup] dir: only {data_dir} expands here");
  } else {
    fs::path expanded(expand_placeholders(dir, PlaceholderValues{"", "", data_dir.string(), ""}));
    backup.dir = (expanded.is_absolute() ? expanded : base / expanded).lexically_normal();
  }
  r.string_array("exclude", backup.exclude);
  r.integer("keep_last", backup.keep_last, 1, 100000);
  r.integer("keep_daily", backup.keep_daily, 0, 100000);
  r.integer("keep_weekly", backup.keep_weekly, 0, 100000);
  r.integer("keep_monthly", backup.keep_monthly, 0, 100000);
  if (!data_dir.empty() && backup.dir == data_dir) r.error_at("dir", "[backup] dir must not be the data dir itself");
}

void read_fork(SectionReader& r, const fs::path& base, const fs::path& data_dir, ForkConfig& fork) {
  fork.configured = r.present();
  fork.releases_dir = data_dir.empty() ? fs::path() : (data_dir.parent_path() / "releases");
  r.path("workspace", fork.workspace, base);
  r.string("fork_url", fork.fork_url);
  r.string("upstream_url", fork.upstream_url);
  r.string("branch_prefix", fork.branch_prefix);
  r.string_array("build", fork.build);
  r.string_array("test", fork.test);
  r.duration("build_timeout", fork.build_timeout);
  r.path("releases_dir", fork.releases_dir, base);
  r.integer("keep_releases", fork.keep_releases, 1, 1000);
  r.boolean("docs_required", fork.docs_required);
  r.path("credentials_file", fork.credentials_file, base);
  r.string("author_name", fork.author_name);
  r.string("author_email", fork.author_email);
  r.string("api_url", fork.api_url);
  while (!fork.api_url.empty() && fork.api_url.back() == '/') fork.api_url.pop_back();
  if (!fork.configured) return;
  for (const char* key : {"workspace", "fork_url", "upstream_url"}) {
    if (!r.has(key)) r.error_at(key, std::string("[fork] ") + key + " is required when [fork] is present");
  }
  if (fork.build.empty()) r.error_at("build", "[fork] build must name a program");
  if (fork.test.empty()) r.error_at("test", "[fork] test must name a program");
}

void read_document(const toml::table& root, const std::string& file, const fs::path& base, Config& config,
                   std::vector<ConfigError>& errors) {
  for (auto&& [key, node] : root) {
    std::string name(key.str());
    bool known = std::find(kSections.begin(), kSections.end(), name) != kSections.end();
    if (!known) {
      std::string message = "unknown section [" + name + "]";
      std::string nearest = nearest_key(name, kSections);
      if (!nearest.empty()) message += "; did you mean [" + nearest + "]?";
      errors.push_back(error_at_source(file, key.source(), message));
    } else if (!node.is_table()) {
      errors.push_back(error_at_source(file, node.source(), "'" + name + "' must be a section: write [" + name + "]"));
    } else if (std::find(kPlannedSections.begin(), kPlannedSections.end(), name) != kPlannedSections.end()) {
      config.warnings.push_back(
          error_at_source(file, key.source(),
                          "[" + name + "] is not implemented by this version yet; its keys are ignored")
              .to_string());
    }
  }
  const toml::table* app = root.get_as<toml::table>("app");
  if (!app) {
    errors.push_back(
        ConfigError{file, 1, 1, "missing [app] section with data_dir and command (see docs/configuration.md)"});
  }
  SectionReader app_reader(app, "app", file, errors);
  read_app(app_reader, base, config.app);
  app_reader.finish();
  SectionReader restart_reader(root.get_as<toml::table>("restart"), "restart", file, errors);
  read_restart(restart_reader, config.restart);
  restart_reader.finish();
  SectionReader health_reader(root.get_as<toml::table>("health"), "health", file, errors);
  read_health(health_reader, config.health);
  health_reader.finish();
  SectionReader handover_reader(root.get_as<toml::table>("handover"), "handover", file, errors);
  read_handover(handover_reader, config.app.port, config.handover);
  handover_reader.finish();
  SectionReader proxy_reader(root.get_as<toml::table>("proxy"), "proxy", file, errors);
  read_proxy(proxy_reader, config.app.port, config.proxy);
  proxy_reader.finish();
  SectionReader backup_reader(root.get_as<toml::table>("backup"), "backup", file, errors);
  read_backup(backup_reader, base, config.app.data_dir, config.backup);
  backup_reader.finish();
  SectionReader fork_reader(root.get_as<toml::table>("fork"), "fork", file, errors);
  read_fork(fork_reader, base, config.app.data_dir, config.fork);
  fork_reader.finish();
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else
      out += c;
  }
  return out + "\"";
}

void write_health(std::ostringstream& out, const HealthConfig& h) {
  out << "\n[health]\n";
  out << "readiness    = " << quote(to_string(h.readiness)) << "\n";
  out << "url          = " << quote(h.url) << "\n";
  out << "interval     = " << quote(format_duration(h.interval)) << "\n";
  out << "timeout      = " << quote(format_duration(h.timeout)) << "\n";
  out << "try_timeout  = " << quote(format_duration(h.try_timeout)) << "\n";
  out << "verification = " << quote(to_string(h.verification)) << "\n";
  out << "database     = " << quote(h.database) << "\n";
  out << "counts       = {";
  bool first_count = true;
  for (const auto& [k, v] : h.counts) {
    out << (first_count ? " " : ", ") << k << " = " << quote(v);
    first_count = false;
  }
  out << (h.counts.empty() ? "}" : " }") << "\n";
  out << "busy_timeout = " << quote(format_duration(h.busy_timeout)) << "\n";
}

}  // namespace

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
  read_document(root, source, base_dir, config, result.errors);
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

std::string to_toml(const Config& c) {
  std::ostringstream out;
  out << "# effective configuration of " << c.source << "\n[app]\n";
  out << "data_dir       = " << quote(c.app.data_dir.string()) << "\n";
  out << "release        = " << quote(c.app.release.string()) << "\n";
  out << "command        = [";
  for (size_t i = 0; i < c.app.command.size(); ++i) out << (i ? ", " : "") << quote(c.app.command[i]);
  out << "]\n";
  out << "working_dir    = " << quote(c.app.working_dir) << "\n";
  out << "env            = {";
  bool first = true;
  for (const auto& [k, v] : c.app.env) {
    out << (first ? " " : ", ") << k << " = " << quote(v);
    first = false;
  }
  out << (c.app.env.empty() ? "}" : " }") << "\n";
  out << "port           = " << c.app.port << "\n";
  out << "stop_signal    = " << quote(signal_name(c.app.stop_signal)) << "\n";
  out << "stop_timeout   = " << quote(format_duration(c.app.stop_timeout)) << "\n";
  out << "log_max_size   = " << quote(format_size(c.app.log_max_size)) << "\n";
  out << "log_keep       = " << c.app.log_keep << "\n";
  out << "keep_instances = " << c.app.keep_instances << "\n";
  out << "\n[restart]\n";
  out << "policy          = " << quote(to_string(c.restart.policy)) << "\n";
  out << "backoff_initial = " << quote(format_duration(c.restart.backoff_initial)) << "\n";
  out << "backoff_factor  = " << c.restart.backoff_factor << "\n";
  out << "backoff_max     = " << quote(format_duration(c.restart.backoff_max)) << "\n";
  out << "max_restarts    = " << c.restart.max_restarts << "\n";
  out << "restart_window  = " << quote(format_duration(c.restart.restart_window)) << "\n";
  out << "stable_after    = " << quote(format_duration(c.restart.stable_after)) << "\n";
  if (c.health.configured) write_health(out, c.health);
  out << "\n[backup]\n";
  out << "dir          = " << quote(c.backup.dir.string()) << "\n";
  out << "exclude      = [";
  for (size_t i = 0; i < c.backup.exclude.size(); ++i) out << (i ? ", " : "") << quote(c.backup.exclude[i]);
  out << "]\n";
  out << "keep_last    = " << c.backup.keep_last << "\n";
  out << "keep_daily   = " << c.backup.keep_daily << "\n";
  out << "keep_weekly  = " << c.backup.keep_weekly << "\n";
  out << "keep_monthly = " << c.backup.keep_monthly << "\n";
  out << "\n[handover]\n";
  out << "strategy         = " << quote(to_string(c.handover.strategy)) << "\n";
  out << "require_approval = " << (c.handover.require_approval ? "true" : "false") << "\n";
  out << "verify_timeout   = " << quote(format_duration(c.handover.verify_timeout)) << "\n";
  out << "probation        = " << quote(format_duration(c.handover.probation)) << "\n";
  out << "alternate_port   = " << c.handover.alternate_port << "\n";
  if (c.proxy.configured) {
    out << "\n[proxy]\n";
    out << "listen         = " << quote(c.proxy.listen_host + ":" + std::to_string(c.proxy.listen_port)) << "\n";
    out << "instance_ports = " << quote(std::to_string(c.proxy.first_port) + "-" + std::to_string(c.proxy.last_port))
        << "\n";
    out << "drain_timeout  = " << quote(format_duration(c.proxy.drain_timeout)) << "\n";
    out << "queue_timeout  = " << quote(format_duration(c.proxy.queue_timeout)) << "\n";
    out << "queue_limit    = " << c.proxy.queue_limit << "\n";
    out << "buffer         = " << quote(format_size(c.proxy.buffer)) << "\n";
    out << "busy_poll      = " << quote(format_duration(c.proxy.busy_poll)) << "\n";
    out << "nice           = " << c.proxy.nice << "\n";
  }
  if (c.fork.configured) {
    auto list = [&](const std::vector<std::string>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
      return s + "]";
    };
    out << "\n[fork]\n";
    out << "workspace        = " << quote(c.fork.workspace.string()) << "\n";
    out << "fork_url         = " << quote(c.fork.fork_url) << "\n";
    out << "upstream_url     = " << quote(c.fork.upstream_url) << "\n";
    out << "branch_prefix    = " << quote(c.fork.branch_prefix) << "\n";
    out << "build            = " << list(c.fork.build) << "\n";
    out << "test             = " << list(c.fork.test) << "\n";
    out << "build_timeout    = " << quote(format_duration(c.fork.build_timeout)) << "\n";
    out << "releases_dir     = " << quote(c.fork.releases_dir.string()) << "\n";
    out << "keep_releases    = " << c.fork.keep_releases << "\n";
    out << "docs_required    = " << (c.fork.docs_required ? "true" : "false") << "\n";
    out << "credentials_file = " << quote(c.fork.credentials_file.string()) << "\n";
    out << "author_name      = " << quote(c.fork.author_name) << "\n";
    out << "author_email     = " << quote(c.fork.author_email) << "\n";
    out << "api_url          = " << quote(c.fork.api_url) << "\n";
  }
  return out.str();
}

}  // namespace agentron
