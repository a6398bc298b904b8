// Sealing a release: agentron-fork, as root, turns the folder the build wrote — as the
// app's user, who may still hold a file in it open, or have left a process behind
// that keeps writing — into a tree that user cannot change. A chown of the build folder
// would not do: an fd opened before it stays writable, and a hard link is the same
// file as its other name. So the tree is copied, by root, into a new root-owned
// folder, walking descriptors only: no symlink is ever followed, each file is read
// from the descriptor that was checked, and the copies share nothing with the build's
// files. docs/security.md, "Running the app as its own user", says what rests on it.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace agentron {

// Copies everything beneath the directory `from_dir` (the build folder) into the empty
// directory `to_dir`, as this process's user. `from_dir` and every directory and
// regular file beneath it must belong to `builder` (the uid the build ran as): root
// reading another user's file into a release anyone can read would disclose it — a
// hard link to /etc/shadow — so such a file is refused, not copied. In the copy:
//  * directories 0755 and regular files 0644, or 0755 if the owner could execute the
//    original: no setuid, setgid or sticky bit, no write for group or others; the
//    owner is this process's user; a file has the size it had when it was opened, so
//    what a lingering writer appends later is not in it;
//  * symlinks are recreated with the same target and never followed;
//  * hard links become separate files (pnpm links node_modules into its store: those
//    are `builder`'s own files, and are copied).
// Refused, with the path relative to `from_dir`: anything that is not a directory, a
// regular file or a symlink (a fifo, a socket, a device); a directory or regular file
// of another user; folders nested deeper than 256. `shown` names `from_dir` in errors.
// On failure `to_dir` holds a partial copy: the caller removes it.
Status seal_tree(int from_dir, int to_dir, uid_t builder, const std::string& shown);

}  // namespace agentron
