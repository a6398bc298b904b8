// SHA-256 through OpenSSL's EVP interface (Debian's libcrypto; SHA-NI where the CPU has
// it). libcrypto is loaded on the first hash, not linked (common/shared_library.h): the
// supervisor hashes only while it takes, verifies or restores a snapshot, and linked
// in, libcrypto's mapping and relocations cost every idle supervisor ~1.4 MiB of
// resident memory (bench/README.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentron {

class Sha256 {
 public:
  // Fails only when libcrypto cannot be loaded.
  static Result<Sha256> start();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  void update(std::string_view data);
  std::string hex_digest();  // ends the hash

 private:
  struct Context;
  explicit Sha256(std::unique_ptr<Context> context);
  std::unique_ptr<Context> context_;
};

}  // namespace agentron
