// The supervisor's configuration: TOML (docs/design.md §9) → typed, validated values.
// Every path here is absolute; templates ({release}, {port}, ...) stay unexpanded
// until an instance starts (see config/placeholders.h).
#pragma once

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/result.h"

namespace agentron {

enum class RestartPolicyKind { always, on_failure, never };

struct AppConfig {
  std::filesystem::path data_dir;  // pinned AGENTRON_DATA_DIR; absolute, required
  // The supervisor's own state (ledger, records, requests, the backup key, the control
  // socket): <data_dir>/.supervisor unless set. With `user`, it must lie outside data_dir.
  std::filesystem::path state_dir;
  std::filesystem::path release;  // the install the first instance runs from
  std::vector<std::string> command;
  std::string working_dir = "{release}";
  std::map<std::string, std::string> env;
  int port = 3000;
  int stop_signal = SIGTERM;
  Duration stop_timeout = std::chrono::seconds(10);
  std::uint64_t log_max_size = 10 * 1024 * 1024;  // per stdout.log / stderr.log
  int log_keep = 5;                               // rotated files kept: .1 … .N
  int keep_instances = 20;                        // instances/<id>/ folders kept
  std::string user;   // run the app as this user (the supervisor starts as root); "": as the supervisor
  std::string group;  // with user: instead of the user's primary group
};

// Whether [app] state_dir puts the supervisor's state outside data_dir (then backups and
// releases default to folders in it as well).
bool separate_state_dir(const AppConfig& app);

struct RestartConfig {
  RestartPolicyKind policy = RestartPolicyKind::on_failure;
  Duration backoff_initial = std::chrono::milliseconds(100);
  double backoff_factor = 2.0;
  Duration backoff_max = std::chrono::seconds(30);
  int max_restarts = 5;
  Duration restart_window = std::chrono::seconds(60);
  Duration stable_after = std::chrono::seconds(30);
};

enum class ReadinessKind { http, tcp, record, none };
enum class VerificationKind { probe, record, none };

struct HealthConfig {
  // Without a [health] section an instance is ready once started and nothing is
  // verified (as a plain process supervisor); the section's own defaults are docs/design.md §9's.
  bool configured = false;
  ReadinessKind readiness = ReadinessKind::none;
  std::string url = "http://127.0.0.1:{port}/api/setup/status";  // template, for http
  Duration interval = std::chrono::milliseconds(250);
  Duration timeout = std::chrono::seconds(60);     // from the start to ready
  Duration try_timeout = std::chrono::seconds(2);  // one http/tcp try
  VerificationKind verification = VerificationKind::none;
  std::string database = "agentron.sqlite";                 // relative to data_dir
  std::map<std::string, std::string> counts;                // name → SELECT returning one integer
  Duration busy_timeout = std::chrono::milliseconds(2000);  // the probe's wait for the app's writers
};

struct BackupConfig {
  std::filesystem::path dir;         // default <data_dir>/backups (<state_dir>/backups if separate)
  std::vector<std::string> exclude;  // globs relative to data_dir
  int keep_last = 10;
  int keep_daily = 7;
  int keep_weekly = 0;
  int keep_monthly = 0;
};

struct ForkConfig {
  std::filesystem::path workspace;  // the agent's clone of its fork
  std::string fork_url;             // the only URL pushes may go to
  std::string upstream_url;         // fetch-only
  std::string branch_prefix = "agent-improvement/";
  std::vector<std::string> build = {"pnpm", "build:ui"};
  std::vector<std::string> test = {"pnpm", "test"};
  Duration build_timeout = std::chrono::minutes(20);
  std::filesystem::path releases_dir;  // default <data_dir>/../releases (<state_dir>/releases if separate)
  int keep_releases = 3;
  bool docs_required = false;
  std::filesystem::path credentials_file;  // 0600; AGENTRON_FORK_TOKEN also works
  std::string author_name = "Agentron agent";
  std::string author_email = "agent@agentron.invalid";
  std::string api_url = "https://api.github.com";  // for `ensure-fork --create`
  bool configured = false;                         // a [fork] section was present
};

enum class HandoverStrategy { overlap, stop_first };

struct HandoverConfig {
  HandoverStrategy strategy = HandoverStrategy::overlap;
  bool require_approval = false;
  Duration verify_timeout = std::chrono::seconds(120);  // the new instance: started → verified
  Duration probation = std::chrono::seconds(30);        // a crash this soon after the switch switches back
  // Without [proxy] the new instance of an overlap handover cannot take the old one's
  // port while it serves: instances alternate between [app] port and this one.
  int alternate_port = 0;  // default [app] port + 1
  // A request with when = "idle" waits, once its release is built, until this query on
  // the app's database (read-only, like the counts) returns 0 — no run executing — for
  // at most idle_timeout; then it ends rolled back, nothing restarted.
  std::string idle_query = "SELECT count(*) FROM executions WHERE status = 'running'";
  Duration idle_timeout = std::chrono::minutes(30);
};

// The optional zero-downtime front (docs/operations.md, "The front").
struct ProxyConfig {
  bool configured = false;
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  int first_port = 0;  // instance_ports = "first-last": each instance gets a free one as PORT
  int last_port = 0;
  Duration drain_timeout = std::chrono::seconds(30);
  Duration queue_timeout = std::chrono::seconds(30);   // a connection waits this long for a ready instance
  int queue_limit = 4096;                              // connections waiting at most; more are closed
  std::uint64_t buffer = 64 * 1024;                    // per connection and direction
  Duration busy_poll = std::chrono::microseconds(50);  // the front's loop spins this long after an event (0: never)
  int nice = -5;  // the front thread's priority (below 0 needs CAP_SYS_NICE or RLIMIT_NICE)
};

// The control API over HTTP (docs/architecture.md, "Control API listener"); loopback only.
struct ControlConfig {
  bool configured = false;
  std::string listen_host = "127.0.0.1";          // 127.0.0.0/8, "::1" or "localhost"
  int listen_port = 7310;                         // 0: any free port (the log and `status` say which)
  std::filesystem::path token_file;               // the agent's; default <state_dir>/api.token
  std::filesystem::path operator_token_file;      // the operator's; default <state_dir>/operator.token
  std::optional<std::vector<std::string>> tools;  // which tools are offered; nullopt: all
  std::uint64_t max_body = 256 * 1024;
  Duration header_timeout = std::chrono::seconds(10);       // a request's headers, then its body, each within this
  Duration login_link_lifetime = std::chrono::seconds(60);  // `open`'s one-time link works this long
  int max_connections = 256;
};

// "host:port", with brackets around an IPv6 address: "[::1]:7310".
std::string control_listen_address(const ControlConfig& control);

struct Config {
  std::string source;              // the file it came from, or "<embedded demo config>"
  std::filesystem::path base_dir;  // relative paths were resolved against this
  AppConfig app;
  RestartConfig restart;
  HealthConfig health;
  BackupConfig backup;
  HandoverConfig handover;
  ProxyConfig proxy;
  ForkConfig fork;
  ControlConfig control;
  std::vector<std::string> warnings;  // "file:line:column: ..." — valid, but worth saying
};

// One problem in a config file, located at its line and column (1-based).
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string to_string() const;  // "file:line:column: message"
};

// Parses and validates TOML text. `source` names it in messages; relative paths
// resolve against `base_dir`. Returns every error found, not just the first.
struct ConfigResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
};
ConfigResult parse_config(const std::string& text, const std::string& source, const std::filesystem::path& base_dir);

// Reads and parses a file. An unreadable file is one error at line 1 column 1.
ConfigResult load_config_file(const std::filesystem::path& path);

// Which file `--config` / $AGENTRON_SUPERVISOR_CONFIG / ./agentron-supervisor.toml
// picks (docs/design.md §9). Empty if none was given and the default file does not exist.
std::filesystem::path locate_config(const std::string& flag_value);

// The effective config as TOML, every key shown with its value (defaults included).
std::string to_toml(const Config& config);

const char* to_string(RestartPolicyKind kind);
const char* to_string(ReadinessKind kind);
const char* to_string(VerificationKind kind);
const char* to_string(HandoverStrategy strategy);
std::string signal_name(int signo);

}  // namespace agentron
