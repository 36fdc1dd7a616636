// Random identifiers and secrets from OpenSSL's CSPRNG. Thread-safe.
#pragma once

#include <string>

namespace lathe {

// 2*bytes lower-case hex characters of cryptographically random data.
std::string RandomHex(size_t bytes);

// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace lathe
