// agentron-log: copies an instance's stdout (fd 0) and stderr (fd 3) into size-rotated
// log files until both reach EOF. The supervisor starts one per instance (see
// launcher/posix_spawner.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "launcher/rotating_log.h"

int main(int argc, char** argv) {
  CLI::App app{"agentron-log: write fd 0 and fd 3 to size-rotated log files (used by agentron-supervisor)"};
  std::uint64_t max_size = 0;
  int keep = 5;
  std::string out_path, err_path;
  app.add_option("--max-size", max_size, "rotate when the file would grow past this many bytes (0: never)");
  app.add_option("--keep", keep, "rotated files to keep");
  app.add_option("stdout-file", out_path, "log file for fd 0")->required();
  app.add_option("stderr-file", err_path, "log file for fd 3")->required();
  CLI11_PARSE(app, argc, argv);
  // Lives in its own session; a hangup of whatever terminal started the supervisor is
  // not a reason to lose the app's output.
  ::signal(SIGHUP, SIG_IGN);
  return agentron::run_log_helper(STDIN_FILENO, out_path, 3, err_path, max_size, keep);
}
