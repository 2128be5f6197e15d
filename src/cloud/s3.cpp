#include "cloud/s3.hpp"

#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>
#include <thread>
#include <tinyxml2.h>
#include <unistd.h>

namespace kiln::cloud {

namespace {

const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Endpoint {
  std::string scheme, host, base_path; // "http", "127.0.0.1:4568", "" or "/s3"
};

Endpoint parse_endpoint(const std::string& endpoint, const std::string& region)
{
  if (endpoint.empty())
    return {"https", "s3." + region + ".amazonaws.com", ""};
  Endpoint out{"https", endpoint, ""};
  if (auto scheme = endpoint.find("://"); scheme != std::string::npos) {
    out.scheme = endpoint.substr(0, scheme);
    out.host = endpoint.substr(scheme + 3);
  }
  if (auto slash = out.host.find('/'); slash != std::string::npos) {
    out.base_path = out.host.substr(slash);
    out.host = out.host.substr(0, slash);
    while (!out.base_path.empty() && out.base_path.back() == '/')
      out.base_path.pop_back();
  }
  return out;
}

const tinyxml2::XMLElement* child(const tinyxml2::XMLElement* parent, const char* name)
{
  return parent ? parent->FirstChildElement(name) : nullptr;
}

std::string text_of(const tinyxml2::XMLElement* element)
{
  return element && element->GetText() ? element->GetText() : "";
}

int64_t parse_iso(const std::string& text)
{
  std::tm tm{};
  return strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) ? static_cast<int64_t>(timegm(&tm)) : 0;
}

std::string hint_for(const std::string& code, long status)
{
  if (code == "NoSuchBucket")
    return "the bucket does not exist: create it, or correct the store's URL";
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "AccessDenied" ||
      code == "ExpiredToken" || status == 403)
    return "check the credentials kiln used and what they may do in this bucket";
  if (status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed")
    return "the bucket is in another region: give it (s3: {region: ...} in kiln.yaml, or "
           "AWS_REGION)";
  if (status >= 500)
    return "the server failed, and went on failing when kiln tried again; try later";
  return "";
}

} // namespace

Expected<S3Url> parse_s3_url(const std::string& url)
{
  std::string rest = url.rfind("s3://", 0) == 0 ? url.substr(5) : url;
  size_t slash = rest.find('/');
  S3Url out{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash + 1)};
  static const std::string allowed = "abcdefghijklmnopqrstuvwxyz0123456789.-";
  if (out.bucket.size() < 3 || out.bucket.size() > 63 ||
      out.bucket.find_first_not_of(allowed) != std::string::npos)
    return make_error(ExitCode::usage, "'" + url + "' does not name an S3 bucket",
                      "write s3://BUCKET/PREFIX (a bucket name is 3-63 lowercase letters, digits, "
                      "dots and hyphens)");
  while (!out.prefix.empty() && out.prefix.front() == '/')
    out.prefix.erase(0, 1);
  while (!out.prefix.empty() && out.prefix.back() == '/')
    out.prefix.pop_back();
  for (const auto& part : util::split(out.prefix, '/')) {
    if (part == "." || part == "..")
      return make_error(ExitCode::usage, "'" + url + "' has a prefix with . or ..");
  }
  if (!out.prefix.empty())
    out.prefix += '/';
  return out;
}

S3ErrorBody parse_error_body(const std::string& xml)
{
  tinyxml2::XMLDocument document;
  if (xml.empty() || document.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS)
    return {};
  const auto* error = document.FirstChildElement("Error");
  return {text_of(child(error, "Code")), text_of(child(error, "Message")),
          text_of(child(error, "Region"))};
}

Expected<S3ListPage> parse_list_page(const std::string& xml)
{
  tinyxml2::XMLDocument document;
  if (document.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS)
    return make_error(ExitCode::input, "the server's object list is not XML");
  const auto* result = document.FirstChildElement("ListBucketResult");
  if (!result)
    return make_error(ExitCode::input, "the server's object list has no ListBucketResult");
  S3ListPage page;
  for (const auto* item = result->FirstChildElement("Contents"); item;
       item = item->NextSiblingElement("Contents")) {
    S3Object object;
    object.key = text_of(child(item, "Key"));
    object.size = std::strtoull(text_of(child(item, "Size")).c_str(), nullptr, 10);
    object.etag = text_of(child(item, "ETag"));
    object.last_modified = parse_iso(text_of(child(item, "LastModified")));
    page.objects.push_back(std::move(object));
  }
  page.truncated = text_of(child(result, "IsTruncated")) == "true";
  page.next_token = text_of(child(result, "NextContinuationToken"));
  return page;
}

S3Client::S3Client(std::string bucket, S3Settings settings,
                   std::shared_ptr<CredentialSource> credentials, std::string region)
    : bucket_(std::move(bucket)), settings_(std::move(settings)),
      credentials_(std::move(credentials)), region_(std::move(region))
{
  if (settings_.transfers < 1)
    settings_.transfers = 1;
}

std::string S3Client::name(const std::string& key) const
{
  return "s3://" + bucket_ + "/" + key;
}

uint64_t S3Client::requests() const
{
  std::lock_guard lock(mutex_);
  return requests_;
}

void S3Client::acquire()
{
  std::unique_lock lock(mutex_);
  slots_free_.wait(lock, [&] { return in_flight_ < settings_.transfers; });
  ++in_flight_;
}

void S3Client::release()
{
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  slots_free_.notify_one();
}

util::HttpRequest S3Client::build(const S3Call& call, const std::string& region)
{
  Endpoint endpoint = parse_endpoint(settings_.endpoint, region);
  bool path_style = settings_.path_style.value_or(!settings_.endpoint.empty());
  std::string host = path_style ? endpoint.host : bucket_ + "." + endpoint.host;
  std::string path = endpoint.base_path + (path_style ? "/" + bucket_ : "") + "/" + call.key;
  RequestToSign request{call.method, path, call.query, call.headers,
                        call.body.empty() ? kEmptySha256 : util::sha256_hex(call.body)};
  request.headers.emplace_back("Host", host);
  SignOptions options;
  options.normalize_path = false;
  options.content_sha256_header = true;
  util::HttpRequest http;
  auto credentials = credentials_->get();
  if (credentials) {
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    auto signed_request =
        sign(request, *credentials, {region, "s3", now}, SignMode::header, options);
    http.headers = request.headers;
    http.headers.insert(http.headers.end(), signed_request.headers.begin(),
                        signed_request.headers.end());
    http.url = endpoint.scheme + "://" + host + uri_encode(path, true) +
               (signed_request.query.empty() ? "" : "?" + signed_request.query);
  }
  http.method = call.method;
  http.body = call.body;
  http.range = call.range;
  http.on_body = call.on_body;
  http.max_body = call.max_body;
  // A part's worth of data at a slow 256 KiB/s, and never less than the setting.
  http.timeout_seconds = std::max(
      settings_.timeout, static_cast<double>(call.body.size() + settings_.part_size) / (256 << 10));
  return http;
}

Expected<util::HttpResponse> S3Client::send(const S3Call& call)
{
  auto credentials = credentials_->get();
  if (!credentials) {
    Error error = credentials.error();
    error.message = name(call.key) + ": " + error.message;
    return error;
  }
  std::string region;
  {
    std::lock_guard lock(mutex_);
    region = region_;
  }
  for (int redirects = 0;; ++redirects) {
    int attempt = 0;
    auto make = [&] {
      if (attempt++ > 0 && call.on_restart)
        call.on_restart();
      {
        std::lock_guard lock(mutex_);
        ++requests_;
      }
      return build(call, region);
    };
    acquire();
    auto response = send_with_retries(make, settings_.retry, call.idempotent, note_);
    release();
    if (!response)
      return response;
    if (response->status == 0)
      return make_error(
          ExitCode::input,
          name(call.key) + ": " + call.method + " got no answer: " + response->transport_failure,
          "is the endpoint " +
              (settings_.endpoint.empty() ? std::string("(AWS)") : settings_.endpoint) +
              " up and reachable from this machine?");
    // S3 names the bucket's region when it is asked in another one: follow once.
    std::string moved = response->header("x-amz-bucket-region").value_or("");
    if (moved.empty() && (response->status == 301 || response->status == 400))
      moved = parse_error_body(response->body).region;
    if (redirects == 0 && !moved.empty() && moved != region &&
        (response->status == 301 || response->status == 400)) {
      if (note_)
        note_("s3://" + bucket_ + " is in region " + moved + ", not " + region + ": using it");
      region = moved;
      std::lock_guard lock(mutex_);
      region_ = moved;
      continue;
    }
    return response;
  }
}

Error S3Client::error_of(const util::HttpResponse& response, const std::string& what,
                         const std::string& key) const
{
  S3ErrorBody body = parse_error_body(response.body);
  std::string message = name(key) + ": " + what + " answered HTTP " +
                        std::to_string(response.status) +
                        (body.code.empty() ? "" : " " + body.code) +
                        (body.message.empty() ? "" : " (" + body.message + ")");
  return make_error(ExitCode::input, message, hint_for(body.code, response.status));
}

int64_t S3Client::server_time_of(const util::HttpResponse& response)
{
  auto date = response.header("date");
  if (!date)
    return 0;
  std::tm tm{};
  if (!strptime(date->c_str(), "%a, %d %b %Y %H:%M:%S", &tm))
    return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Expected<std::optional<std::string>> S3Client::get(const std::string& key)
{
  S3Call call;
  call.key = key;
  auto response = send(call);
  if (!response)
    return std::move(response).error();
  if (response->status == 404)
    return std::optional<std::string>();
  if (response->status != 200)
    return error_of(*response, "GET", key);
  return std::optional<std::string>(std::move(response->body));
}

Expected<std::string> S3Client::get_range(const std::string& key, uint64_t first, uint64_t last)
{
  S3Call call;
  call.key = key;
  call.range = std::make_pair(first, last);
  call.max_body = static_cast<size_t>(last - first + 1);
  auto response = send(call);
  if (!response)
    return std::move(response).error();
  if (response->status != 206 && response->status != 200)
    return error_of(*response,
                    "GET (bytes " + std::to_string(first) + "-" + std::to_string(last) + ")", key);
  if (response->body.size() != last - first + 1)
    return make_error(ExitCode::input, name(key) + ": bytes " + std::to_string(first) + "-" +
                                           std::to_string(last) + " came back as " +
                                           std::to_string(response->body.size()) + " bytes");
  return std::move(response->body);
}

Status S3Client::put(const std::string& key, std::string body)
{
  if (body.size() > 2 * settings_.part_size)
    return put_multipart(key, body);
  S3Call call;
  call.method = "PUT";
  call.key = key;
  call.body = std::move(body);
  auto response = send(call);
  if (!response)
    return std::move(response).error();
  if (response->status != 200)
    return error_of(*response, "PUT", key);
  return ok_status();
}

Status S3Client::put_multipart(const std::string& key, const std::string& body)
{
  S3Call create;
  create.method = "POST";
  create.key = key;
  create.query = "uploads=";
  create.idempotent = false; // a second create leaves an upload nobody finishes
  auto created = send(create);
  if (!created)
    return std::move(created).error();
  if (created->status != 200)
    return error_of(*created, "CreateMultipartUpload", key);
  tinyxml2::XMLDocument reply;
  reply.Parse(created->body.data(), created->body.size());
  std::string upload =
      text_of(child(reply.FirstChildElement("InitiateMultipartUploadResult"), "UploadId"));
  if (upload.empty())
    return make_error(ExitCode::input, name(key) + ": CreateMultipartUpload named no upload");
  std::string id = uri_encode(upload, false);
  size_t parts = (body.size() + settings_.part_size - 1) / settings_.part_size;
  std::vector<std::string> etags(parts);
  std::vector<std::optional<Error>> failures(parts);
  std::vector<std::thread> workers;
  std::mutex next_mutex;
  size_t next = 0;
  auto work = [&] {
    for (;;) {
      size_t part = 0;
      {
        std::lock_guard lock(next_mutex);
        if (next >= parts)
          return;
        part = next++;
      }
      S3Call upload_part;
      upload_part.method = "PUT";
      upload_part.key = key;
      upload_part.query = "partNumber=" + std::to_string(part + 1) + "&uploadId=" + id;
      upload_part.body = body.substr(part * settings_.part_size, settings_.part_size);
      auto answered = send(upload_part);
      if (!answered)
        failures[part] = answered.error();
      else if (answered->status != 200 || !answered->header("etag"))
        failures[part] = error_of(*answered, "UploadPart " + std::to_string(part + 1), key);
      else
        etags[part] = *answered->header("etag");
    }
  };
  size_t threads = std::min<size_t>(parts, static_cast<size_t>(settings_.transfers));
  for (size_t i = 0; i < threads; ++i)
    workers.emplace_back(work);
  for (auto& worker : workers)
    worker.join();
  auto abort = [&](Error error) -> Status {
    S3Call cancel;
    cancel.method = "DELETE";
    cancel.key = key;
    cancel.query = "uploadId=" + id;
    (void)send(cancel);
    return error;
  };
  for (auto& failure : failures) {
    if (failure)
      return abort(*failure);
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < parts; ++i)
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
           "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  S3Call complete;
  complete.method = "POST";
  complete.key = key;
  complete.query = "uploadId=" + id;
  complete.body = xml;
  complete.headers = {{"Content-Type", "application/xml"}};
  auto completed = send(complete);
  if (!completed)
    return abort(completed.error());
  // S3 may answer 200 and still report an error in the body.
  if (completed->status != 200 || !parse_error_body(completed->body).code.empty())
    return abort(error_of(*completed, "CompleteMultipartUpload", key));
  return ok_status();
}

Status S3Client::remove(const std::string& key)
{
  S3Call call;
  call.method = "DELETE";
  call.key = key;
  auto response = send(call);
  if (!response)
    return std::move(response).error();
  if (response->status != 204 && response->status != 200 && response->status != 404)
    return error_of(*response, "DELETE", key);
  return ok_status();
}

Expected<std::vector<S3Object>> S3Client::list(const std::string& prefix, int64_t* server_time)
{
  std::vector<S3Object> objects;
  std::string token;
  std::set<std::string> tokens; // a server that hands back a token twice would loop forever
  for (;;) {
    S3Call call;
    call.query = "list-type=2&prefix=" + uri_encode(prefix, false);
    if (!token.empty())
      call.query += "&continuation-token=" + uri_encode(token, false);
    auto response = send(call);
    if (!response)
      return std::move(response).error();
    if (response->status != 200)
      return error_of(*response, "ListObjectsV2 " + prefix, "");
    if (server_time && token.empty())
      *server_time = server_time_of(*response);
    auto page = parse_list_page(response->body);
    if (!page) {
      Error error = page.error();
      error.message = name(prefix) + ": " + error.message;
      return error;
    }
    for (auto& object : page->objects) {
      if (object.key.rfind(prefix, 0) == 0) // what the server lists must be what was asked
        objects.push_back(std::move(object));
    }
    if (!page->truncated)
      return objects;
    if (page->next_token.empty() || !tokens.insert(page->next_token).second)
      return make_error(ExitCode::input, name(prefix) + ": the server's object list does not end");
    token = page->next_token;
  }
}

Status S3Client::get_to_file(const std::string& key, const std::string& dest,
                             const util::DownloadProgress& progress)
{
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(dest.c_str(), "wb"), std::fclose);
  if (!file)
    return errno_error("cannot create", dest, errno);
  bool failed = false;
  uint64_t done = 0;
  S3Call call;
  call.key = key;
  call.on_body = [&](std::string_view piece) {
    failed = std::fwrite(piece.data(), 1, piece.size(), file.get()) != piece.size();
    done += piece.size();
    if (progress)
      progress(static_cast<double>(done), 0);
    return !failed;
  };
  call.on_restart = [&] {
    failed = false;
    done = 0;
    std::rewind(file.get());
    (void)!::ftruncate(::fileno(file.get()), 0);
  };
  auto response = send(call);
  if (failed || std::fflush(file.get()) != 0)
    return errno_error("cannot write", dest, errno);
  if (!response)
    return std::move(response).error();
  if (response->status != 200)
    return error_of(*response, "GET", key);
  return ok_status();
}

Status download_s3(const std::string& url, const std::string& dest, const S3Access& access,
                   const util::DownloadProgress& progress)
{
  auto parsed = parse_s3_url(url);
  if (!parsed)
    return std::move(parsed).error();
  std::string key = parsed->prefix;
  if (!key.empty() && key.back() == '/')
    key.pop_back();
  if (key.empty())
    return make_error(ExitCode::usage, "'" + url + "' names a bucket, not an object",
                      "write s3://BUCKET/KEY");
  S3Settings settings;
  settings.endpoint = access.endpoint;
  if (!access.addressing.empty())
    settings.path_style = access.addressing == "path";
  AwsContext context{nullptr, access.profile};
  std::string region = access.region.empty() ? find_region(context) : access.region;
  S3Client client(parsed->bucket, settings, std::make_shared<CredentialSource>(context),
                  region.empty() ? "us-east-1" : region);
  return client.get_to_file(key, dest, progress);
}

} // namespace kiln::cloud
