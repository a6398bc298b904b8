#include "supervisor/data_dir_lock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/private_dir.h"
#include "launcher/instance_spec.h"

namespace agentron {
namespace fs = std::filesystem;

fs::path data_dir_lock_folder() {
  if (::geteuid() == 0) return "/run/agentron-supervisor";
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime && *runtime == '/') return fs::path(runtime) / "agentron-supervisor";
  return fs::temp_directory_path() / ("agentron-supervisor-" + std::to_string(::geteuid()));
}

Result<DataDirLock> lock_data_dir(const AppConfig& app) {
  std::string holder;
  auto taken = [&](const std::string& pid) {
    return Error{"already_running", "another agentron-supervisor (pid " + pid + ") already supervises data dir " +
                                        app.data_dir.string() +
                                        "; use `agentron-supervisor status` to reach it, or stop it first"};
  };
  auto state = FileLock::try_acquire(state_dir(app) / "supervisor.lock", &holder);
  if (!state && state.error().code == kLockedCode) return taken(holder);
  if (!state) return state.error();
  struct stat st {};
  if (::stat(app.data_dir.c_str(), &st) != 0)
    return errno_error("lock_failed", "cannot stat data dir " + app.data_dir.string(), errno);
  fs::path folder = data_dir_lock_folder();
  if (auto made = make_private_dir(folder, 0700); !made) return made.error();
  fs::path name = folder / ("data-" + std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino) + ".lock");
  auto data = FileLock::try_acquire(name, &holder);
  if (!data && data.error().code == kLockedCode) return taken(holder);
  if (!data) return data.error();
  return DataDirLock{std::move(state.value()), std::move(data.value())};
}

}  // namespace agentron
