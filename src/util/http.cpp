#include "util/http.hpp"

#include "util/interrupt.hpp"

#include <cstdio>
#include <curl/curl.h>
#include <memory>

namespace kiln::util {

namespace {

struct Transfer {
  FILE* file = nullptr;
  const DownloadProgress* progress = nullptr;
};

size_t write_body(char* data, size_t size, size_t count, void* user)
{
  auto* transfer = static_cast<Transfer*>(user);
  return std::fwrite(data, size, count, transfer->file) * size;
}

int on_progress(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t)
{
  auto* transfer = static_cast<Transfer*>(user);
  if (interrupt_signal() != 0)
    return 1; // aborts the transfer
  if (transfer->progress && *transfer->progress)
    (*transfer->progress)(static_cast<double>(done), static_cast<double>(total));
  return 0;
}

void init_curl_once()
{
  static bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

} // namespace

std::string redact_url(std::string_view url)
{
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return std::string(url);
  size_t host_start = scheme + 3;
  size_t path_start = url.find('/', host_start);
  size_t at = url.find('@', host_start);
  if (at == std::string_view::npos || (path_start != std::string_view::npos && at > path_start))
    return std::string(url);
  return std::string(url.substr(0, host_start)) + "***@" + std::string(url.substr(at + 1));
}

Status download(const std::string& url, const std::filesystem::path& dest,
                const DownloadProgress& progress)
{
  init_curl_once();
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(dest.c_str(), "wb"), std::fclose);
  if (!file)
    return errno_error("cannot create", dest.string(), errno);
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  Transfer transfer{file.get(), &progress};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https,http,file");
  curl_easy_setopt(curl.get(), CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error_buffer);
  CURLcode code = curl_easy_perform(curl.get());
  if (std::fflush(file.get()) != 0 && code == CURLE_OK)
    return errno_error("cannot write", dest.string(), errno);
  if (code == CURLE_ABORTED_BY_CALLBACK && interrupt_signal() != 0)
    return make_error(ExitCode::interrupted, "download of " + redact_url(url) + " interrupted");
  if (code != CURLE_OK) {
    std::string why = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    return make_error(ExitCode::input, "cannot download " + redact_url(url) + ": " + why,
                      "check the URL and that this machine can reach it");
  }
  return ok_status();
}

} // namespace kiln::util
