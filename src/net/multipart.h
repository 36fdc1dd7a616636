// multipart/form-data (RFC 7578) request bodies: the parts of a file upload.
// Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lathe::net {

struct FormPart {
  std::string name;          // form field name
  std::string filename;      // empty for plain fields
  std::string content_type;  // empty when not given
  std::string data;
};

// Parses body given the request's Content-Type header (which carries the
// boundary). InvalidArgument naming the problem: not multipart, no boundary,
// a part without headers' end, a missing closing boundary.
Result<std::vector<FormPart>> ParseMultipart(std::string_view content_type, std::string_view body);

}  // namespace lathe::net
