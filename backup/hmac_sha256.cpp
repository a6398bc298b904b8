#include "backup/hmac_sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace agentron {

Result<std::string> hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac, &length) == nullptr) {
    return Error{"hmac_failed", "libcrypto could not compute an HMAC-SHA256"};
  }
  return std::string(reinterpret_cast<const char*>(mac), length);
}

}  // namespace agentron
