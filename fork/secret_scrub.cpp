#include "fork/secret_scrub.h"

#include <regex>

namespace agentron {

namespace {
constexpr size_t kLongLine = 64 * 1024;
}  // namespace

std::string scrub(const std::string& text, const std::string& token) {
  std::string out = text;
  if (token.size() >= 4) {
    for (size_t at = out.find(token); at != std::string::npos; at = out.find(token, at))
      out.replace(at, token.size(), "***");
  }
  static const std::regex userinfo(R"(([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@)");
  return std::regex_replace(out, userinfo, "$1***@");
}

std::string StreamScrubber::feed(std::string_view data) {
  pending_.append(data);
  // A token never spans a newline: everything up to the last one can go.
  if (auto newline = pending_.rfind('\n'); newline != std::string::npos) {
    std::string ready = scrub(pending_.substr(0, newline + 1), token_);
    pending_.erase(0, newline + 1);
    return ready;
  }
  if (pending_.size() < kLongLine) return "";
  // Scrubbed whole first, so an occurrence across the cut is already gone; a token
  // still arriving lies within the bytes held back.
  pending_ = scrub(pending_, token_);
  if (pending_.size() <= kHeldBack) return "";
  std::string ready = pending_.substr(0, pending_.size() - kHeldBack);
  pending_.erase(0, ready.size());
  return ready;
}

std::string StreamScrubber::finish() {
  std::string rest = scrub(pending_, token_);
  pending_.clear();
  return rest;
}

}  // namespace agentron
