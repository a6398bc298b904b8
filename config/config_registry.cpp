#include "config/config_registry.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "config/placeholders.h"
#include "config/section_keys.h"
#include "db/sqlite_db.h"

namespace agentron {
namespace {

namespace fs = std::filesystem;

// For an optional section whose struct records its presence (`configured`): set before
// `prepare` runs; the effective config shows the section only when it was present.
template <typename Section>
void track_presence(SectionSpec& s, Section Config::*section,
                    std::function<void(SectionReader&, Config&)> prepare = nullptr) {
  s.prepare = [section, prepare](SectionReader& r, Config& config) {
    (config.*section).configured = r.present();
    if (prepare) prepare(r, config);
  };
  s.shown = [section](const Config& config) { return (config.*section).configured; };
}

// ---- [app]

void check_app_env(SectionReader& r, const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    if (auto problem = check_placeholders(value)) r.error_at("env", "[app] env." + name + ": " + *problem);
    if (name == "AGENTRON_DATA_DIR") {
      r.error_at("env",
                 "[app] env.AGENTRON_DATA_DIR cannot be set here: the supervisor always pins it to [app] data_dir");
    } else if (name == "PORT" || name == "AGENTRON_INSTANCE_ID" || name == "AGENTRON_VERIFICATION_FILE" ||
               name == "AGENTRON_RELEASE_COMMIT" || name == "AGENTRON_REQUESTS_DIR") {
      r.error_at("env", "[app] env." + name + " is set by the supervisor for every instance; remove it" +
                            (name == "PORT" ? " and use [app] port" : ""));
    }
  }
}

// Whether `path` is `dir` or lies below it, by the text of both (absolute, normalised).
bool at_or_below(const fs::path& path, const fs::path& dir) {
  auto rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

// With [app] user the app's user owns data_dir, and a folder's owner can rename or
// replace anything in it: the supervisor's state must live elsewhere (docs/security.md).
void check_state_dir(SectionReader& r, AppConfig& app) {
  if (app.state_dir.empty()) app.state_dir = app.data_dir.empty() ? fs::path() : app.data_dir / ".supervisor";
  if (app.data_dir.empty()) return;
  if (app.state_dir == app.data_dir) r.error_at("state_dir", "[app] state_dir must not be the data dir itself");
  if (app.user.empty()) return;
  if (!separate_state_dir(app)) {
    r.error_at("user",
               "[app] user needs [app] state_dir outside data_dir, e.g. state_dir = "
               "\"/var/lib/agentron-supervisor\": the app's user owns data_dir and could replace "
               "the supervisor's ledger, records and backups there");
  } else if (at_or_below(app.state_dir, app.data_dir)) {
    r.error_at("state_dir", "[app] state_dir " + app.state_dir.string() + " lies inside data_dir " +
                                app.data_dir.string() + ", which [app] user '" + app.user +
                                "' owns; put it outside, e.g. /var/lib/agentron-supervisor");
  }
}

void check_app(SectionReader& r, Config& config) {
  AppConfig& app = config.app;
  check_state_dir(r, app);
  if (r.has("command") && app.command.empty()) r.error_at("command", "[app] command must name a program: it is empty");
  for (const auto& arg : app.command) {
    if (auto problem = check_placeholders(arg)) r.error_at("command", "[app] command: " + *problem);
  }
  if (auto problem = check_placeholders(app.working_dir)) r.error_at("working_dir", "[app] working_dir: " + *problem);
  check_app_env(r, app.env);
  if (app.data_dir == "/") r.error_at("data_dir", "[app] data_dir must not be the root directory");
  if (app.log_max_size != 0 && app.log_max_size < 4096)
    r.error_at("log_max_size", "[app] log_max_size must be 0 (no rotation) or at least 4KiB");
  if (!app.user.empty() && !::getpwnam(app.user.c_str()) &&
      app.user.find_first_not_of("0123456789") != std::string::npos) {
    r.error_at("user", "[app] user '" + app.user + "': no such user on this machine (create one, e.g. `useradd " +
                           "--system --home-dir /var/lib/agentron agentron`)");
  }
  if (!app.group.empty() && app.user.empty()) r.error_at("group", "[app] group needs [app] user");
  if (!app.group.empty() && !::getgrnam(app.group.c_str()) &&
      app.group.find_first_not_of("0123456789") != std::string::npos) {
    r.error_at("group", "[app] group '" + app.group + "': no such group on this machine");
  }
}

SectionSpec app_section() {
  SectionKeys<AppConfig> k(&Config::app);
  SectionSpec s;
  s.name = "app";
  s.missing_error = "missing [app] section with data_dir and command (see docs/configuration.md)";
  s.keys = {
      k.path("data_dir", &AppConfig::data_dir)
          .must_be_set(": the pinned AGENTRON_DATA_DIR, e.g. data_dir = \"/var/lib/agentron/data\""),
      k.path("state_dir", &AppConfig::state_dir).documented_as("<data_dir>/.supervisor"),
      k.path("release", &AppConfig::release).documented_as("the config file's folder"),
      k.string_array("command", &AppConfig::command)
          .must_be_set(", e.g. command = [\"node\", \"{release}/server.js\"]"),
      k.string("working_dir", &AppConfig::working_dir),
      k.string_map("env", &AppConfig::env),
      k.integer("port", &AppConfig::port, 1, 65535),
      k.signal("stop_signal", &AppConfig::stop_signal),
      k.duration("stop_timeout", &AppConfig::stop_timeout),
      k.size("log_max_size", &AppConfig::log_max_size),
      k.integer("log_keep", &AppConfig::log_keep, 0, 1000),
      k.integer("keep_instances", &AppConfig::keep_instances, 1, 100000),
      k.string("user", &AppConfig::user),
      k.string("group", &AppConfig::group),
  };
  s.prepare = [](SectionReader& r, Config& config) { config.app.release = r.base_dir(); };
  s.check = check_app;
  return s;
}

// ---- [restart]

SectionSpec restart_section() {
  SectionKeys<RestartConfig> k(&Config::restart);
  SectionSpec s;
  s.name = "restart";
  s.keys = {
      k.choice("policy", &RestartConfig::policy,
               std::array{RestartPolicyKind::always, RestartPolicyKind::on_failure, RestartPolicyKind::never}),
      k.duration("backoff_initial", &RestartConfig::backoff_initial),
      k.number("backoff_factor", &RestartConfig::backoff_factor, 1.0, 100.0),
      k.duration("backoff_max", &RestartConfig::backoff_max),
      k.integer("max_restarts", &RestartConfig::max_restarts, 0, 1'000'000),
      k.duration("restart_window", &RestartConfig::restart_window),
      k.duration("stable_after", &RestartConfig::stable_after),
  };
  s.check = [](SectionReader& r, Config& config) {
    const RestartConfig& restart = config.restart;
    if (restart.backoff_max < restart.backoff_initial) {
      r.error_at("backoff_max", "[restart] backoff_max (" + format_duration(restart.backoff_max) +
                                    ") must not be less than backoff_initial (" +
                                    format_duration(restart.backoff_initial) + ")");
    }
  };
  return s;
}

// ---- [health]

void prepare_health(SectionReader&, Config& config) {
  HealthConfig& health = config.health;
  if (health.configured) {  // docs/design.md §9's defaults, for an app like Agentron
    health.readiness = ReadinessKind::http;
    health.verification = VerificationKind::probe;
    health.counts = {{"agents", "SELECT count(*) FROM agents"}, {"runs", "SELECT count(*) FROM executions"}};
  }
}

void check_health(SectionReader& r, Config& config) {
  const HealthConfig& health = config.health;
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

SectionSpec health_section() {
  SectionKeys<HealthConfig> k(&Config::health);
  SectionSpec s;
  s.name = "health";
  s.keys = {
      k.choice("readiness", &HealthConfig::readiness,
               std::array{ReadinessKind::http, ReadinessKind::tcp, ReadinessKind::record, ReadinessKind::none}),
      k.string("url", &HealthConfig::url),
      k.duration("interval", &HealthConfig::interval),
      k.duration("timeout", &HealthConfig::timeout),
      k.duration("try_timeout", &HealthConfig::try_timeout),
      k.choice("verification", &HealthConfig::verification,
               std::array{VerificationKind::probe, VerificationKind::record, VerificationKind::none}),
      k.string("database", &HealthConfig::database),
      k.string_map("counts", &HealthConfig::counts),
      k.duration("busy_timeout", &HealthConfig::busy_timeout),
  };
  track_presence(s, &Config::health, prepare_health);
  s.check = check_health;
  return s;
}

// ---- [backup]

// A template where only {data_dir} expands, stored expanded and absolute.
void read_backup_dir(SectionReader& r, Config& config) {
  std::string dir = separate_state_dir(config.app) ? (config.app.state_dir / "backups").string() : "{data_dir}/backups";
  r.string("dir", dir);
  if (auto problem = check_placeholders(dir)) {
    r.error_at("dir", "[backup] dir: " + *problem);
  } else if (dir.find("{release}") != std::string::npos || dir.find("{port}") != std::string::npos ||
             dir.find("{instance_id}") != std::string::npos) {
    r.error_at("dir", "[backup] dir: only {data_dir} expands here");
  } else {
    fs::path expanded(expand_placeholders(dir, PlaceholderValues{"", "", config.app.data_dir.string(), ""}));
    config.backup.dir = (expanded.is_absolute() ? expanded : r.base_dir() / expanded).lexically_normal();
  }
}

std::string write_backup_dir(const Config& config) { return toml_string(config.backup.dir.string()); }

SectionSpec backup_section() {
  SectionKeys<BackupConfig> k(&Config::backup);
  SectionSpec s;
  s.name = "backup";
  s.keys = {
      custom_key("dir", read_backup_dir, write_backup_dir),
      k.string_array("exclude", &BackupConfig::exclude),
      k.integer("keep_last", &BackupConfig::keep_last, 1, 100000),
      k.integer("keep_daily", &BackupConfig::keep_daily, 0, 100000),
      k.integer("keep_weekly", &BackupConfig::keep_weekly, 0, 100000),
      k.integer("keep_monthly", &BackupConfig::keep_monthly, 0, 100000),
  };
  s.check = [](SectionReader& r, Config& config) {
    const fs::path& data_dir = config.app.data_dir;
    if (!data_dir.empty() && config.backup.dir == data_dir)
      r.error_at("dir", "[backup] dir must not be the data dir itself");
    if (!config.app.user.empty() && at_or_below(config.backup.dir, data_dir)) {
      r.error_at("dir", "[backup] dir " + config.backup.dir.string() + " lies inside data_dir, which [app] user '" +
                            config.app.user + "' owns and could rewrite snapshots in; leave it unset (" +
                            "<state_dir>/backups) or put it outside");
    }
  };
  return s;
}

// ---- [handover]

void check_handover(SectionReader& r, Config& config) {
  const HandoverConfig& handover = config.handover;
  int app_port = config.app.port;
  if (handover.alternate_port == app_port) {
    r.error_at("alternate_port", "[handover] alternate_port must differ from [app] port (" + std::to_string(app_port) +
                                     "): old and new instance run side by side");
  }
  if (handover.verify_timeout <= Duration(0))
    r.error_at("verify_timeout", "[handover] verify_timeout must be more than 0");
  if (auto s = check_count_query(handover.idle_query); !s)
    r.error_at("idle_query", "[handover] idle_query: " + s.error().message + " in: " + handover.idle_query);
  if (handover.idle_timeout <= Duration(0)) r.error_at("idle_timeout", "[handover] idle_timeout must be more than 0");
}

SectionSpec handover_section() {
  SectionKeys<HandoverConfig> k(&Config::handover);
  SectionSpec s;
  s.name = "handover";
  s.keys = {
      k.choice("strategy", &HandoverConfig::strategy,
               std::array{HandoverStrategy::overlap, HandoverStrategy::stop_first}),
      k.boolean("require_approval", &HandoverConfig::require_approval),
      k.duration("verify_timeout", &HandoverConfig::verify_timeout),
      k.duration("probation", &HandoverConfig::probation),
      k.integer("alternate_port", &HandoverConfig::alternate_port, 1, 65535).documented_as("[app] port + 1"),
      k.string("idle_query", &HandoverConfig::idle_query),
      k.duration("idle_timeout", &HandoverConfig::idle_timeout),
  };
  s.prepare = [](SectionReader&, Config& config) {
    int app_port = config.app.port;
    config.handover.alternate_port = app_port < 65535 ? app_port + 1 : app_port - 1;
  };
  s.check = check_handover;
  return s;
}

// ---- [proxy]

void read_listen(SectionReader& r, Config& config) {
  std::string listen;
  r.string("listen", listen);
  if (listen.empty()) return;
  auto colon = listen.rfind(':');
  char* end = nullptr;
  long port = colon == std::string::npos ? 0 : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || colon == 0 || *end != '\0' || port < 1 || port > 65535) {
    r.error_at("listen", "[proxy] listen = \"" + listen + "\" is not host:port, e.g. \"127.0.0.1:3000\"");
    return;
  }
  config.proxy.listen_host = listen.substr(0, colon);
  config.proxy.listen_port = static_cast<int>(port);
}

std::string write_listen(const Config& config) {
  return toml_string(config.proxy.listen_host + ":" + std::to_string(config.proxy.listen_port));
}

void read_instance_ports(SectionReader& r, Config& config) {
  std::string ports;
  r.string("instance_ports", ports);
  if (ports.empty()) return;
  auto dash = ports.find('-');
  char* end = nullptr;
  long first = dash == std::string::npos ? 0 : std::strtol(ports.c_str(), &end, 10);
  bool first_ok = dash != std::string::npos && end == ports.c_str() + dash;
  long last = first_ok ? std::strtol(ports.c_str() + dash + 1, &end, 10) : 0;
  if (!first_ok || *end != '\0' || first < 1 || last > 65535 || last - first < 1) {
    r.error_at("instance_ports",
               "[proxy] instance_ports = \"" + ports + "\" is not a range of at least two ports, e.g. \"3101-3199\"");
    return;
  }
  config.proxy.first_port = static_cast<int>(first);
  config.proxy.last_port = static_cast<int>(last);
}

std::string write_instance_ports(const Config& config) {
  return toml_string(std::to_string(config.proxy.first_port) + "-" + std::to_string(config.proxy.last_port));
}

void check_proxy(SectionReader& r, Config& config) {
  const ProxyConfig& proxy = config.proxy;
  if (proxy.busy_poll > std::chrono::milliseconds(1)) {
    r.error_at("busy_poll", "[proxy] busy_poll = \"" + format_duration(proxy.busy_poll) +
                                "\" is too long: it is a spin after each event, 10us-200us helps, more only "
                                "burns CPU (\"0s\" turns it off)");
  }
  if (proxy.first_port != 0 && proxy.listen_port >= proxy.first_port && proxy.listen_port <= proxy.last_port) {
    r.error_at("instance_ports",
               "[proxy] instance_ports must not include the listen port " + std::to_string(proxy.listen_port));
  }
  if (proxy.buffer < 1024) r.error_at("buffer", "[proxy] buffer must be at least 1KiB");
}

SectionSpec proxy_section() {
  SectionKeys<ProxyConfig> k(&Config::proxy);
  SectionSpec s;
  s.name = "proxy";
  s.keys = {
      custom_key("listen", read_listen, write_listen).must_be_set(", e.g. listen = \"127.0.0.1:3000\""),
      custom_key("instance_ports", read_instance_ports, write_instance_ports)
          .must_be_set(", e.g. instance_ports = \"3101-3199\""),
      k.duration("drain_timeout", &ProxyConfig::drain_timeout),
      k.duration("queue_timeout", &ProxyConfig::queue_timeout),
      k.integer("queue_limit", &ProxyConfig::queue_limit, 1, 1'000'000),
      k.size("buffer", &ProxyConfig::buffer),
      k.duration("busy_poll", &ProxyConfig::busy_poll),
      k.integer("nice", &ProxyConfig::nice, -20, 19),
  };
  track_presence(s, &Config::proxy);
  s.check = check_proxy;
  return s;
}

// ---- [fork]

void prepare_fork(SectionReader&, Config& config) {
  const AppConfig& app = config.app;
  if (separate_state_dir(app))
    config.fork.releases_dir = app.state_dir / "releases";
  else
    config.fork.releases_dir = app.data_dir.empty() ? fs::path() : (app.data_dir.parent_path() / "releases");
}

void check_fork(SectionReader& r, Config& config) {
  ForkConfig& fork = config.fork;
  while (!fork.api_url.empty() && fork.api_url.back() == '/') fork.api_url.pop_back();
  if (fork.build.empty()) r.error_at("build", "[fork] build must name a program");
  if (fork.test.empty()) r.error_at("test", "[fork] test must name a program");
  // With [app] user, agentron-fork (as root) runs the release build as that user and
  // seals what it built (fork/build_user.h): the fork's code never runs as root. The
  // sealed releases must not lie where that user could rename them away.
  if (r.present() && !config.app.user.empty() && at_or_below(fork.releases_dir, config.app.data_dir)) {
    r.error_at("releases_dir", "[fork] releases_dir " + fork.releases_dir.string() +
                                   " lies inside data_dir, which [app] user '" + config.app.user +
                                   "' owns; leave it unset (<state_dir>/releases) or put it outside");
  }
}

SectionSpec fork_section() {
  SectionKeys<ForkConfig> k(&Config::fork);
  const std::string when_present = " when [fork] is present";
  SectionSpec s;
  s.name = "fork";
  s.keys = {
      k.path("workspace", &ForkConfig::workspace).must_be_set(when_present),
      k.string("fork_url", &ForkConfig::fork_url).must_be_set(when_present),
      k.string("upstream_url", &ForkConfig::upstream_url).must_be_set(when_present),
      k.string("branch_prefix", &ForkConfig::branch_prefix),
      k.string_array("build", &ForkConfig::build),
      k.string_array("test", &ForkConfig::test),
      k.duration("build_timeout", &ForkConfig::build_timeout),
      k.path("releases_dir", &ForkConfig::releases_dir).documented_as("<data_dir>/../releases"),
      k.integer("keep_releases", &ForkConfig::keep_releases, 1, 1000),
      k.boolean("docs_required", &ForkConfig::docs_required),
      k.path("credentials_file", &ForkConfig::credentials_file).documented_as("—"),
      k.string("author_name", &ForkConfig::author_name),
      k.string("author_email", &ForkConfig::author_email),
      k.string("api_url", &ForkConfig::api_url),
  };
  track_presence(s, &Config::fork, prepare_fork);
  s.check = check_fork;
  return s;
}

// ---- [control]

// 127.0.0.0/8, ::1 or localhost: this version serves the control API to this machine only.
bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// "host:port" or "[v6]:port" → host and port; nullopt if it is neither.
std::optional<std::pair<std::string, int>> split_host_port(const std::string& text) {
  bool bracketed = text.starts_with("[");
  size_t colon = bracketed ? text.find("]:") + 1 : text.rfind(':');
  if (colon == 0 || colon == std::string::npos || colon + 1 >= text.size()) return std::nullopt;
  std::string host = bracketed ? text.substr(1, colon - 2) : text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  if (std::stoi(port) > 65535 || (!bracketed && host.find(':') != std::string::npos)) return std::nullopt;
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::pair{host, std::stoi(port)};
}

void read_control_listen(SectionReader& r, Config& config) {
  std::string listen = control_listen_address(config.control);
  r.string("listen", listen);
  auto host_port = split_host_port(listen);
  if (!host_port) {
    r.error_at("listen",
               "[control] listen = \"" + listen +
                   "\" is not host:port, e.g. \"127.0.0.1:7310\" (an IPv6 address in brackets: \"[::1]:7310\")");
  } else if (!is_loopback_host(host_port->first)) {
    r.error_at("listen", "[control] listen = \"" + listen +
                             "\" is not a loopback address: this version serves the control API on this machine "
                             "only (127.0.0.1 or another 127.x.y.z, [::1], localhost); reach it from elsewhere "
                             "through a tunnel, e.g. ssh -L 7310:127.0.0.1:7310");
  } else {
    config.control.listen_host = host_port->first;
    config.control.listen_port = host_port->second;
  }
}

std::string write_control_listen(const Config& config) { return toml_string(control_listen_address(config.control)); }

// An array of tool names, or "all" (the default).
void read_control_tools(SectionReader& r, Config& config) {
  if (!r.holds_string("tools")) {
    std::vector<std::string> names;
    r.string_array("tools", names);
    if (r.has("tools")) config.control.tools = std::move(names);
    return;
  }
  std::string value;
  r.string("tools", value);
  if (value == "all") {
    config.control.tools.reset();
  } else {
    r.error_at("tools", "[control] tools = \"" + value +
                            "\": write \"all\" or a list of tool names, e.g. [\"supervisor_status\", \"job_status\"]");
  }
}

std::string write_control_tools(const Config& config) {
  return config.control.tools ? toml_array(*config.control.tools) : toml_string("all");
}

void check_control(SectionReader& r, Config& config) {
  const ControlConfig& control = config.control;
  if (control.max_body < 1024 || control.max_body > 64 * 1024 * 1024)
    r.error_at("max_body", "[control] max_body must be between 1KiB and 64MiB");
  if (control.header_timeout <= Duration(0))
    r.error_at("header_timeout", "[control] header_timeout must be more than 0");
  if (control.login_link_lifetime < std::chrono::seconds(1) || control.login_link_lifetime > std::chrono::hours(1))
    r.error_at("login_link_lifetime", "[control] login_link_lifetime must be between 1s and 1h");
  if (!control.configured || control.token_file.empty()) return;
  if (control.operator_token_file == control.token_file) {
    r.error_at("operator_token_file",
               "[control] operator_token_file must differ from token_file: the agent holds that token, and the "
               "operator's alone may approve its restarts");
  } else if (!config.app.user.empty() && at_or_below(control.operator_token_file, config.app.data_dir)) {
    r.error_at("operator_token_file", "[control] operator_token_file " + control.operator_token_file.string() +
                                          " lies inside data_dir, which [app] user '" + config.app.user +
                                          "' owns and could read or replace it there; leave it unset "
                                          "(<state_dir>/operator.token) or put it outside");
  }
}

SectionSpec control_section() {
  SectionKeys<ControlConfig> k(&Config::control);
  SectionSpec s;
  s.name = "control";
  s.keys = {
      custom_key("listen", read_control_listen, write_control_listen),
      k.path("token_file", &ControlConfig::token_file).documented_as("<state_dir>/api.token"),
      k.path("operator_token_file", &ControlConfig::operator_token_file).documented_as("<state_dir>/operator.token"),
      custom_key("tools", read_control_tools, write_control_tools),
      k.size("max_body", &ControlConfig::max_body),
      k.duration("header_timeout", &ControlConfig::header_timeout),
      k.duration("login_link_lifetime", &ControlConfig::login_link_lifetime),
      k.integer("max_connections", &ControlConfig::max_connections, 1, 100000),
  };
  // [app] was read first: state_dir is resolved.
  track_presence(s, &Config::control, [](SectionReader&, Config& config) {
    if (config.app.state_dir.empty()) return;
    config.control.token_file = config.app.state_dir / "api.token";
    config.control.operator_token_file = config.app.state_dir / "operator.token";
  });
  s.check = check_control;
  return s;
}

}  // namespace

KeySpec KeySpec::must_be_set(std::string rest_of_error) && {
  required = std::move(rest_of_error);
  return std::move(*this);
}

KeySpec KeySpec::documented_as(std::string default_text) && {
  documented_default = std::move(default_text);
  return std::move(*this);
}

std::vector<std::string> SectionSpec::key_names() const {
  std::vector<std::string> names;
  for (const KeySpec& key : keys) names.push_back(key.name);
  return names;
}

const std::vector<SectionSpec>& config_sections() {
  static const std::vector<SectionSpec> sections = {
      app_section(),      restart_section(), health_section(), backup_section(),
      handover_section(), proxy_section(),   fork_section(),   control_section(),
  };
  return sections;
}

const SectionSpec* find_section(std::string_view name) {
  for (const SectionSpec& section : config_sections()) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> names;
  for (const SectionSpec& section : config_sections()) names.push_back(section.name);
  return names;
}

}  // namespace agentron
