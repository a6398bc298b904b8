// Writing a small file so that a reader sees the old content or the new, never a
// torn one, and the new content survives a crash once this returns.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace agentron {

// Writes a new file of a random name in `path`'s folder (created exclusively, never
// through a symlink: safe in a folder another user may write), fsyncs it, renames it
// over `path` (a symlink there is replaced, not followed), fsyncs the folder.
Status write_file_atomically(const std::filesystem::path& path, const std::string& content, int mode = 0644);

// The same with the temporary file's name given (for tests): an existing entry of that
// name is an error (code "tmp_exists"), and nothing is written anywhere.
Status write_file_atomically_named(const std::filesystem::path& path, const std::string& content, int mode,
                                   const std::string& tmp_name);

}  // namespace agentron
