// Keeping the fork's token out of everything agentron-fork writes: its answers and
// messages, and the logs of the commands it runs (build, test, release), which an
// agent can read.
#pragma once

#include <string>
#include <string_view>

namespace agentron {

// The text without the token and without any user:password@ in URLs.
std::string scrub(const std::string& text, const std::string& token);

// scrub() for output that arrives in pieces (a child's stdout): a token split across
// two reads is still caught. Complete lines go out as they come; a long unfinished
// line in pieces, always holding back its last kHeldBack bytes.
class StreamScrubber {
 public:
  static constexpr size_t kHeldBack = 4096;  // more than any token or URL credential
  explicit StreamScrubber(std::string token) : token_(std::move(token)) {}
  // What may be written now.
  std::string feed(std::string_view data);
  // Whatever is left, at the end of the stream.
  std::string finish();

 private:
  std::string token_;
  std::string pending_;
};

}  // namespace agentron
