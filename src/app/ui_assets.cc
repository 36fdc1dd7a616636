#include "app/ui_assets.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "common/file_util.h"
#include "ui_assets_embedded.h"  // generated: lathe::app::embedded::kFiles

namespace lathe::app {

namespace http = boost::beast::http;

std::string_view UiContentType(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  for (const auto& [ext, type] : kTypes) {
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return type;
  }
  return "";
}

namespace {

// Every segment must be a plain name: no "", ".", "..", hidden files or
// backslashes, so a request can never leave the UI's folder.
bool SafePath(std::string_view path) {
  if (path.empty() || path.size() > 512) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    if (seg.empty() || seg.front() == '.' || seg.find('\\') != std::string_view::npos ||
        seg.find('\0') != std::string_view::npos) {
      return false;
    }
    start = slash + 1;
  }
  return true;
}

std::string ETag(std::string_view body) {
  return fmt::format("\"{:08x}-{:x}\"", Crc32(body), body.size());
}

}  // namespace

size_t UiAssets::EmbeddedCount() {
  size_t n = 0;
  for (const auto* f = embedded::kFiles; f->path; ++f) ++n;
  return n;
}

Result<UiFile> UiAssets::Get(std::string_view path) const {
  const std::string_view type = UiContentType(path);
  if (!SafePath(path) || type.empty()) return NotFound("no such UI file: /ui/" + std::string(path));
  UiFile out;
  out.content_type = type;
  if (dir_.empty()) {
    for (const auto* f = embedded::kFiles; f->path; ++f) {
      if (path == f->path) {
        out.body.assign(reinterpret_cast<const char*>(f->data), f->size);
        out.etag = ETag(out.body);
        return out;
      }
    }
    return NotFound("no such UI file: /ui/" + std::string(path));
  }
  auto body = ReadFile(dir_ + "/" + std::string(path));
  if (!body.ok()) return NotFound("no such UI file: /ui/" + std::string(path) + " (in --ui-dir " + dir_ + ")");
  out.body = std::move(*body);
  out.etag = ETag(out.body);
  return out;
}

namespace {

// The pages may load only the server's own scripts and call only its API;
// styles may be set inline (charts), reports and downloads come as blobs.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'";

net::Response Serve(const UiAssets& assets, const net::Exchange& ex, std::string_view path) {
  auto file = assets.Get(path);
  if (!file.ok()) return net::ErrorResponse(404, file.status().message(), "not_found");
  net::Response res{http::status::ok, 11};
  res.set(http::field::etag, file->etag);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (file->content_type.rfind("text/html", 0) == 0) {
    res.set("Content-Security-Policy", kContentSecurityPolicy);
    res.set("X-Frame-Options", "SAMEORIGIN");
    res.set("Referrer-Policy", "no-referrer");
  }
  if (ex.header("If-None-Match") == file->etag) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, file->content_type);
  res.body() = std::move(file->body);
  return res;
}

}  // namespace

void AddUiRoutes(net::HttpServer* server, std::shared_ptr<const UiAssets> assets) {
  server->Route("GET", "/", [assets](net::Exchange& ex) -> boost::asio::awaitable<net::Response> {
    co_return Serve(*assets, ex, "index.html");
  });
  server->Route("GET", "/ui/{path*}", [assets](net::Exchange& ex) -> boost::asio::awaitable<net::Response> {
    co_return Serve(*assets, ex, ex.param("path"));
  });
}

}  // namespace lathe::app
