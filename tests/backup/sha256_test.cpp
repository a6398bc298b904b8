#include "backup/sha256.h"

#include <catch2/catch.hpp>
#include <string>

using namespace agentron;

namespace {

std::string sha256_of(std::initializer_list<std::string_view> chunks) {
  auto hash = Sha256::start();
  REQUIRE(hash.ok());
  for (auto chunk : chunks) hash->update(chunk);
  return hash->hex_digest();
}

}  // namespace

TEST_CASE("SHA-256 of the FIPS 180-2 test vectors, from libcrypto loaded on first use", "[sha256]") {
  CHECK(sha256_of({}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_of({"abc"}) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Fed in pieces, as files are read: the same digest as in one piece.
  CHECK(sha256_of({"abcdbcdecdefdefgefghfghighij", "hijkijkljklmklmnlmnomnopnopq"}) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("two SHA-256 hashes at once do not mix", "[sha256]") {
  auto a = Sha256::start();
  auto b = Sha256::start();
  REQUIRE((a.ok() && b.ok()));
  a->update("abc");
  b->update("");
  CHECK(b->hex_digest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(a->hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
