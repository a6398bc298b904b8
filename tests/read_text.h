// A whole file as a string, for tests that compare against fixture files; empty if unreadable.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace agentron::testing {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace agentron::testing
