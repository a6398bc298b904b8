#include "backup/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backup/hmac_sha256.h"
#include "common/shared_library.h"

namespace agentron {

namespace {

// The part of libcrypto a hash needs; declared by <openssl/evp.h>, bound at run time.
struct Libcrypto {
  decltype(&EVP_MD_CTX_new) md_ctx_new;
  decltype(&EVP_MD_CTX_free) md_ctx_free;
  decltype(&EVP_sha256) sha256;
  decltype(&EVP_DigestInit_ex) digest_init;
  decltype(&EVP_DigestUpdate) digest_update;
  decltype(&EVP_DigestFinal_ex) digest_final;
  decltype(&HMAC) hmac;
};

Result<Libcrypto> load_libcrypto() {
  auto lib = SharedLibrary::open("libcrypto.so.3", "libssl3", "hash_failed");
  if (!lib) return lib.error();
  Libcrypto c{};
  bool ok = lib->bind(c.md_ctx_new, "EVP_MD_CTX_new") && lib->bind(c.md_ctx_free, "EVP_MD_CTX_free") &&
            lib->bind(c.sha256, "EVP_sha256") && lib->bind(c.digest_init, "EVP_DigestInit_ex") &&
            lib->bind(c.digest_update, "EVP_DigestUpdate") && lib->bind(c.digest_final, "EVP_DigestFinal_ex") &&
            lib->bind(c.hmac, "HMAC");
  if (!ok) return Error{"hash_failed", "libcrypto.so.3 lacks a function SHA-256 needs"};
  return c;
}

// Loaded once, by whichever thread hashes first (snapshots hash on two threads).
const Result<Libcrypto>& libcrypto() {
  static const Result<Libcrypto> loaded = load_libcrypto();
  return loaded;
}

}  // namespace

struct Sha256::Context {
  const Libcrypto& crypto;
  EVP_MD_CTX* ctx;
  explicit Context(const Libcrypto& c) : crypto(c), ctx(c.md_ctx_new()) {}
  ~Context() { crypto.md_ctx_free(ctx); }
};

Result<Sha256> Sha256::start() {
  const auto& crypto = libcrypto();
  if (!crypto) return crypto.error();
  auto context = std::make_unique<Context>(crypto.value());
  if (context->ctx == nullptr || crypto.value().digest_init(context->ctx, crypto.value().sha256(), nullptr) != 1) {
    return Error{"hash_failed", "cannot start a SHA-256 hash (libcrypto)"};
  }
  return Sha256(std::move(context));
}

Sha256::Sha256(std::unique_ptr<Context> context) : context_(std::move(context)) {}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) { context_->crypto.digest_update(context_->ctx, data.data(), data.size()); }

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  context_->crypto.digest_final(context_->ctx, digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

// Here rather than in a file of its own: it shares the one loaded libcrypto.
Result<std::string> hmac_sha256(std::string_view key, std::string_view data) {
  const auto& crypto = libcrypto();
  if (!crypto) return crypto.error();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (crypto.value().hmac(crypto.value().sha256(), key.data(), static_cast<int>(key.size()),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length) == nullptr) {
    return Error{"hmac_failed", "libcrypto could not compute an HMAC-SHA256"};
  }
  return std::string(reinterpret_cast<const char*>(mac), length);
}

}  // namespace agentron
