// Writing a small file so that a reader sees the old content or the new, never a
// torn one, and the new content survives a crash once this returns.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace agentron {

// Writes <path>.tmp-<pid>, fsyncs it, renames it over `path`, fsyncs the folder.
Status write_file_atomically(const std::filesystem::path& path, const std::string& content, int mode = 0644);

}  // namespace agentron
