// Router: maps (method, path) to a handler through patterns such as
// "/v1/collections/{c}/documents/{id}". A {name} segment matches one path
// segment (percent-decoded); a last {name*} segment matches one or more
// segments, joined with '/' (each percent-decoded). Routes are added before serving; Match is then
// const and thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lathe::net {

using PathParams = std::map<std::string, std::string>;

template <typename Handler>
class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler) {
    routes_.push_back({std::move(method), pattern, Split(pattern), std::move(handler)});
  }

  enum class Outcome { kMatched, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    const Handler* handler = nullptr;
    std::string pattern;  // the route's pattern: a bounded metrics label
    PathParams params;
    std::string allowed;  // "GET, POST" when kMethodNotAllowed
  };

  Match Find(std::string_view method, std::string_view path) const {
    Match m;
    std::vector<std::string> segments = Split(path);
    for (const Route& r : routes_) {
      PathParams params;
      if (!SegmentsMatch(r.segments, segments, &params)) continue;
      if (r.method != method) {
        if (!m.allowed.empty()) m.allowed += ", ";
        m.allowed += r.method;
        m.outcome = Outcome::kMethodNotAllowed;
        continue;
      }
      m.outcome = Outcome::kMatched;
      m.handler = &r.handler;
      m.pattern = r.pattern;
      m.params = std::move(params);
      return m;
    }
    return m;
  }

 private:
  // "%2F" -> "/", "+" kept. Invalid escapes are kept literally.
  static std::string PercentDecode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
        out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }

  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };

  static bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  static int HexValue(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

  // Raw (undecoded) segments, without the query string.
  static std::vector<std::string> Split(std::string_view path) {
    if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= path.size()) {
      size_t slash = path.find('/', start);
      if (slash == std::string_view::npos) slash = path.size();
      if (slash > start) out.emplace_back(path.substr(start, slash - start));
      start = slash + 1;
    }
    return out;
  }

  static bool IsRest(const std::string& p) {
    return p.size() > 3 && p.front() == '{' && p[p.size() - 2] == '*' && p.back() == '}';
  }

  static bool SegmentsMatch(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                            PathParams* params) {
    const bool rest = !pattern.empty() && IsRest(pattern.back());
    if (rest ? path.size() < pattern.size() : pattern.size() != path.size()) return false;
    for (size_t i = 0; i < pattern.size(); ++i) {
      const std::string& p = pattern[i];
      if (rest && i + 1 == pattern.size()) {
        std::string joined;
        for (size_t j = i; j < path.size(); ++j) {
          if (j > i) joined += '/';
          joined += PercentDecode(path[j]);
        }
        (*params)[p.substr(1, p.size() - 3)] = std::move(joined);
      } else if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        (*params)[p.substr(1, p.size() - 2)] = PercentDecode(path[i]);
      } else if (p != path[i]) {
        return false;
      }
    }
    return true;
  }

  std::vector<Route> routes_;
};

}  // namespace lathe::net
