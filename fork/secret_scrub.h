// Keeping the fork's token out of everything agentron-fork writes: its answers and
// messages, and the logs of the commands it runs (build, test, release), which an
// agent can read. The commands are the agent's code: their output is hostile input,
// of any length — the scrubbing is linear and uses no recursion (a recursive regex
// overflowed the stack on a 60 KB line).
#pragma once

#include <string>
#include <string_view>

namespace agentron {

// The text without the token (if at least 4 characters) and without the user:password
// in "scheme://user:password@": both become "***".
std::string scrub(std::string_view text, const std::string& token);

// scrub() for output that arrives in pieces (a child's stdout), in bounded memory
// whatever the length of a line: a token split across two pieces is still caught.
// Each feed() returns everything but the last held_back() bytes, which may be the
// start of a token (or URL credential) still arriving.
class StreamScrubber {
 public:
  // The longest URL credential caught when it arrives in pieces. A token is always
  // caught: at least token.size() - 1 bytes are held back.
  static constexpr size_t kUrlCredentialMax = 4096;
  explicit StreamScrubber(std::string token) : token_(std::move(token)) {}
  // What may be written now.
  std::string feed(std::string_view data);
  // Whatever is left, at the end of the stream.
  std::string finish();

 private:
  size_t held_back() const;
  std::string token_;
  std::string pending_;  // scrubbed already, but may end in the start of a secret
};

}  // namespace agentron
