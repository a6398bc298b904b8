// Running a child as another user ([app] user / group): the ids, resolved from names
// once per spawn, and the agentron-exec command line that drops to them.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/fs_identity.h"
#include "common/result.h"

namespace agentron {

struct RunAs {
  std::string user;  // for messages
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary: the user's, as initgroups would set them
};

// `user` by name or number; `group` (by name or number) overrides the user's primary
// group when not empty. Fails, saying what to do, for a user or group this machine
// does not know.
Result<RunAs> resolve_run_as(const std::string& user, const std::string& group);

// [app] user's identity for touching the app's files as it (common/fs_identity.h);
// nullopt without [app] user. An unknown user is an Error.
Result<std::optional<FsIdentity>> app_fs_identity(const std::string& user, const std::string& group);

// Whether this process may switch to `who` (root, or already that user and group).
Status check_can_run_as(const RunAs& who);

// `exec_helper` (agentron-exec) dropping to `who` and reporting exec failure on
// `report_fd`, then `argv`.
std::vector<std::string> run_as_argv(const std::filesystem::path& exec_helper, const RunAs& who, int report_fd,
                                     const std::vector<std::string>& argv);

// Reads what agentron-exec reported on `fd` (the read end of a close-on-exec pipe
// whose write end is closed here): EOF means the exec happened; a line is why it did
// not. Waits at most `timeout_ms` (the helper only sets ids and execs).
Status read_exec_report(int fd, int timeout_ms = 5000);

}  // namespace agentron
