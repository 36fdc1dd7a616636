#include "net/multipart.h"

#include <algorithm>
#include <cctype>

namespace lathe::net {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Value of a parameter (name="x" or name=x) in a header value.
std::string Param(std::string_view header, std::string_view name) {
  std::string lower = Lower(header);
  std::string key = std::string(name) + "=";
  size_t pos = 0;
  while ((pos = lower.find(key, pos)) != std::string::npos) {
    bool boundary_ok = pos == 0 || lower[pos - 1] == ';' || lower[pos - 1] == ' ';
    if (!boundary_ok) {
      pos += key.size();
      continue;
    }
    size_t start = pos + key.size();
    if (start < header.size() && header[start] == '"') {
      size_t end = header.find('"', start + 1);
      if (end == std::string::npos) return "";
      return std::string(header.substr(start + 1, end - start - 1));
    }
    size_t end = header.find(';', start);
    return std::string(Trim(header.substr(start, end == std::string::npos ? std::string::npos : end - start)));
  }
  return "";
}

}  // namespace

Result<std::vector<FormPart>> ParseMultipart(std::string_view content_type, std::string_view body) {
  if (Lower(content_type).rfind("multipart/form-data", 0) != 0) {
    return InvalidArgument("expected Content-Type multipart/form-data, got '" + std::string(content_type) + "'");
  }
  std::string boundary = Param(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return InvalidArgument("multipart Content-Type has no usable boundary parameter");
  }
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return InvalidArgument("multipart body does not contain its boundary");
  std::vector<FormPart> parts;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return InvalidArgument("multipart boundary is not followed by CRLF");
    pos += 2;
    size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos) {
      return InvalidArgument("multipart part " + std::to_string(parts.size() + 1) + " has no end of headers");
    }
    FormPart part;
    std::string_view headers = body.substr(pos, header_end - pos);
    while (!headers.empty()) {
      size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = Lower(Trim(line.substr(0, colon)));
      std::string_view value = Trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = Param(value, "name");
        part.filename = Param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    size_t data_start = header_end + 4;
    size_t next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) {
      return InvalidArgument("multipart part " + std::to_string(parts.size() + 1) +
                             " is not terminated by the boundary (truncated upload?)");
    }
    part.data = std::string(body.substr(data_start, next - data_start));
    parts.push_back(std::move(part));
    pos = next + 2;
  }
}

}  // namespace lathe::net
