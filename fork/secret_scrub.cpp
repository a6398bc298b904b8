#include "fork/secret_scrub.h"

#include <algorithm>

namespace agentron {

namespace {

constexpr std::string_view kHidden = "***";

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_scheme_char(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'; }
// What ends the user:password part: the regex class [^/@\s] of the C locale.
bool ends_userinfo(char c) { return c == '/' || c == '@' || c == ' ' || (c >= '\t' && c <= '\r'); }

std::string without_token(std::string_view text, const std::string& token) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (size_t at = text.find(token); at != std::string_view::npos; at = text.find(token, copied)) {
    out.append(text, copied, at - copied).append(kHidden);
    copied = at + token.size();
  }
  return out.append(text, copied);
}

// What the regex ([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@ replaced with "$1***@", found
// without backtracking: each "://" looks back over its scheme and forward to the '@'.
// The stretches looked at never overlap by more than a few bytes: linear time.
std::string without_userinfo(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (size_t sep = text.find("://"); sep != std::string_view::npos; sep = text.find("://", sep + 1)) {
    size_t scheme = sep;
    while (scheme > copied && is_scheme_char(text[scheme - 1])) --scheme;
    while (scheme < sep && !is_alpha(text[scheme])) ++scheme;  // a scheme begins with a letter
    size_t user = sep + 3, end = user;
    while (end < text.size() && !ends_userinfo(text[end])) ++end;
    if (scheme == sep || end == user || end == text.size() || text[end] != '@') continue;
    out.append(text, copied, user - copied).append(kHidden);
    copied = end;  // the '@' stays
    sep = end;
  }
  return out.append(text, copied);
}

}  // namespace

std::string scrub(std::string_view text, const std::string& token) {
  if (token.size() < 4) return without_userinfo(text);
  return without_userinfo(without_token(text, token));
}

size_t StreamScrubber::held_back() const { return std::max(kUrlCredentialMax, token_.size()); }

std::string StreamScrubber::feed(std::string_view data) {
  // Scrubbed whole, so an occurrence across the previous cut is caught; scrubbing
  // twice changes nothing.
  pending_ = scrub(pending_.append(data), token_);
  // A secret never spans a newline: complete lines go out whole.
  size_t newline = pending_.rfind('\n');
  size_t cut = newline == std::string::npos ? 0 : newline + 1;
  if (pending_.size() - cut > held_back()) cut = pending_.size() - held_back();
  std::string ready = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return ready;
}

std::string StreamScrubber::finish() {
  std::string rest = scrub(pending_, token_);
  pending_.clear();
  return rest;
}

}  // namespace agentron
