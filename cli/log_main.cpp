// agentron-log: copies its stdin into a size-rotated log file until EOF. The
// supervisor starts one per stream of every instance (see launcher/posix_spawner.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "launcher/rotating_log.h"

int main(int argc, char** argv) {
  CLI::App app{"agentron-log: write stdin to a size-rotated log file (used by agentron-supervisor)"};
  std::uint64_t max_size = 0;
  int keep = 5;
  std::string path;
  app.add_option("--max-size", max_size, "rotate when the file would grow past this many bytes (0: never)");
  app.add_option("--keep", keep, "rotated files to keep");
  app.add_option("file", path, "log file")->required();
  CLI11_PARSE(app, argc, argv);
  // Lives in its own session; a hangup of whatever terminal started the supervisor is
  // not a reason to lose the app's output.
  ::signal(SIGHUP, SIG_IGN);
  return agentron::run_log_helper(STDIN_FILENO, path, max_size, keep);
}
