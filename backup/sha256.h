// SHA-256 through OpenSSL's EVP interface (Debian's libssl; uses SHA-NI where present).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace agentron {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  std::string hex_digest();  // ends the hash

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace agentron
