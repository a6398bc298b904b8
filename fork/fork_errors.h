// The error codes agentron-fork answers with in its --json output
// ({"ok":false,"error":{"code":...}}), defined once for both binaries: the helper
// that writes them and the supervisor that reads some of them (marked *). Scripts
// and the agent's tools key on these strings; docs/fork.md lists what each means.
#pragma once

namespace agentron::fork_error {

inline constexpr const char* bad_branch = "bad_branch";
inline constexpr const char* bad_command = "bad_command";
inline constexpr const char* bad_commit = "bad_commit";
inline constexpr const char* bad_duration = "bad_duration";
inline constexpr const char* bad_upstream = "bad_upstream";
inline constexpr const char* branch_exists = "branch_exists";
inline constexpr const char* build_failed = "build_failed";  // *
inline constexpr const char* conflict = "conflict";
inline constexpr const char* credentials_exposed = "credentials_exposed";
inline constexpr const char* detached_head = "detached_head";
inline constexpr const char* dirty = "dirty";
inline constexpr const char* diverged = "diverged";
inline constexpr const char* docs_required = "docs_required";
inline constexpr const char* drop_failed = "drop_failed";
inline constexpr const char* fork_create_failed = "fork_create_failed";
inline constexpr const char* fork_is_upstream = "fork_is_upstream";
inline constexpr const char* fork_not_ready = "fork_not_ready";
inline constexpr const char* fork_unreachable = "fork_unreachable";
inline constexpr const char* git_error = "git_error";
inline constexpr const char* http_failed = "http_failed";
inline constexpr const char* log_failed = "log_failed";
inline constexpr const char* needs_root = "needs_root";
inline constexpr const char* no_message = "no_message";
inline constexpr const char* no_such_remote = "no_such_remote";
inline constexpr const char* no_token = "no_token";
inline constexpr const char* no_workspace = "no_workspace";
inline constexpr const char* non_fast_forward = "non_fast_forward";
inline constexpr const char* not_a_repository = "not_a_repository";
inline constexpr const char* not_on_fork = "not_on_fork";  // *
inline constexpr const char* nothing_to_commit = "nothing_to_commit";
inline constexpr const char* protect_failed = "protect_failed";
inline constexpr const char* push_refused = "push_refused";
inline constexpr const char* push_rejected = "push_rejected";
inline constexpr const char* release_exists = "release_exists";
inline constexpr const char* releases_dir_unsafe = "releases_dir_unsafe";
inline constexpr const char* remove_failed = "remove_failed";
inline constexpr const char* sandbox_failed = "sandbox_failed";
inline constexpr const char* seal_refused = "seal_refused";
inline constexpr const char* spawn_failed = "spawn_failed";
inline constexpr const char* unknown = "unknown";
inline constexpr const char* unknown_commit = "unknown_commit";  // *
inline constexpr const char* workspace_not_fork = "workspace_not_fork";
inline constexpr const char* workspace_redirected = "workspace_redirected";
inline constexpr const char* wrong_branch = "wrong_branch";

}  // namespace agentron::fork_error
