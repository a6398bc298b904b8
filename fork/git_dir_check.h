// What keeps libgit2's writes inside a git directory whose contents the agent can
// edit (the workspace's .git) or replace (the release mirror in releases_dir).
// libgit2 writes by path name: it creates refs, reflogs, objects and hooks in their
// folders; it rewrites HEAD, config, packed-refs and index through a lock file renamed
// over them, following a symlink there to its target; and it appends reflog lines in
// place. So a symlink on one of those paths, or a hard link anywhere — another name
// for a file outside, which the write sandbox cannot tell from a file of the
// directory's own because it judges paths — would send a write out of the directory.
#pragma once

#include <string>

namespace agentron {

// The first thing in the git directory `git_dir_fd` (any fd of it, O_PATH is enough)
// that would send a write elsewhere, described relative to it — "commondir sends its
// refs and objects elsewhere", "refs/heads/x is a symlink", "logs/HEAD is a hard link
// (2 names)" — or "" if nothing does. Refused:
//  * a `commondir` file;
//  * a symlink in refs/ or logs/ at any depth, objects/ or one of its folders, hooks/
//    or a file in it, or HEAD, config, packed-refs, index, FETCH_HEAD, ORIG_HEAD,
//    MERGE_HEAD, MERGE_MSG, MERGE_MODE, shallow;
//  * a file with more than one name (st_nlink > 1) anywhere but objects/ (also a
//    submodule's, modules/.../objects/);
//  * folders nested deeper than 64.
std::string write_redirection_in(int git_dir_fd);

}  // namespace agentron
