#include "cloud/sigv4.hpp"

#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace kiln::cloud {

namespace {

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";

int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string uri_decode(const std::string& text)
{
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// RFC 3986's remove_dot_segments, and no empty segments: "//a/./b/../c/" -> "/a/c/".
std::string normalize_path(const std::string& path)
{
  std::vector<std::string> kept;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    std::string segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!kept.empty())
        kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = "/" + util::join(kept, "/");
  bool trailing =
      path.size() > 1 && (path.back() == '/' || path.ends_with("/.") || path.ends_with("/.."));
  if (trailing && out.back() != '/')
    out += '/';
  return out;
}

std::string canonical_path(const std::string& path, bool normalize)
{
  std::string raw = path.empty() ? "/" : path;
  return uri_encode(normalize ? normalize_path(raw) : raw, true);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// The query's parameters, decoded, then encoded as SigV4 wants them.
Pairs query_pairs(const std::string& query)
{
  Pairs pairs;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos)
      end = query.size();
    std::string part = query.substr(start, end - start);
    if (!part.empty()) {
      size_t equals = part.find('=');
      std::string key = part.substr(0, equals);
      std::string value = equals == std::string::npos ? "" : part.substr(equals + 1);
      pairs.emplace_back(uri_encode(uri_decode(key), false), uri_encode(uri_decode(value), false));
    }
    start = end + 1;
  }
  return pairs;
}

std::string join_query(Pairs pairs)
{
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs)
    out += (out.empty() ? "" : "&") + key + "=" + value;
  return out;
}

// A header's value as signed: folded lines joined, outer space trimmed, runs of spaces one.
std::string canonical_value(const std::string& value)
{
  std::string out;
  bool space = false;
  for (char c : value) {
    bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct CanonicalHeaders {
  std::string text;    // "name:value\n" for each, sorted
  std::string signed_; // "host;x-amz-date"
};

// Lower-case names in order; the values of a repeated name joined with ',' in their order.
CanonicalHeaders canonical_headers(const Headers& headers)
{
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& [name, value] : headers) {
    std::string lower = util::lower(name);
    std::string clean = canonical_value(value);
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const auto& entry) { return entry.first == lower; });
    if (it == merged.end())
      merged.emplace_back(lower, clean);
    else
      it->second += "," + clean;
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.text += name + ":" + value + "\n";
    out.signed_ += (out.signed_.empty() ? "" : ";") + name;
  }
  return out;
}

std::string hmac(const std::string& key, const std::string& data)
{
  return util::hmac_sha256(key, data);
}

std::string signing_key(const Credentials& credentials, const SigningScope& scope,
                        const std::string& date)
{
  std::string key = hmac("AWS4" + credentials.secret_access_key, date);
  key = hmac(key, scope.region);
  key = hmac(key, scope.service);
  return hmac(key, "aws4_request");
}

} // namespace

std::string uri_encode(const std::string& text, bool keep_slash)
{
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string amz_date(int64_t time)
{
  std::time_t t = static_cast<std::time_t>(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

SignedRequest sign(const RequestToSign& request, const Credentials& credentials,
                   const SigningScope& scope, SignMode mode, const SignOptions& options)
{
  std::string when = amz_date(scope.time);
  std::string date = when.substr(0, 8);
  std::string credential_scope = date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  bool sign_token = !credentials.session_token.empty() && !options.omit_session_token;

  Headers headers = request.headers;
  Pairs query = query_pairs(request.query);
  SignedRequest out;
  if (mode == SignMode::header) {
    Headers added = {{"X-Amz-Date", when}};
    if (sign_token)
      added.emplace_back("X-Amz-Security-Token", credentials.session_token);
    if (options.content_sha256_header)
      added.emplace_back("x-amz-content-sha256", request.payload);
    headers.insert(headers.end(), added.begin(), added.end());
    out.headers = added;
  }
  CanonicalHeaders canonical = canonical_headers(headers);
  if (mode == SignMode::query) {
    query.emplace_back("X-Amz-Algorithm", kAlgorithm);
    query.emplace_back("X-Amz-Credential",
                       uri_encode(credentials.access_key_id + "/" + credential_scope, false));
    query.emplace_back("X-Amz-Date", when);
    query.emplace_back("X-Amz-Expires", std::to_string(options.expires));
    if (sign_token)
      query.emplace_back("X-Amz-Security-Token", uri_encode(credentials.session_token, false));
    query.emplace_back("X-Amz-SignedHeaders", uri_encode(canonical.signed_, false));
  }
  std::string canonical_query = join_query(query);
  out.canonical_request =
      request.method + "\n" + canonical_path(request.path, options.normalize_path) + "\n" +
      canonical_query + "\n" + canonical.text + "\n" + canonical.signed_ + "\n" + request.payload;
  out.string_to_sign = std::string(kAlgorithm) + "\n" + when + "\n" + credential_scope + "\n" +
                       util::sha256_hex(out.canonical_request);
  out.signature = util::to_hex(hmac(signing_key(credentials, scope, date), out.string_to_sign));
  bool late_token = !credentials.session_token.empty() && options.omit_session_token;
  if (mode == SignMode::header) {
    if (late_token)
      out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
    out.headers.emplace_back("Authorization",
                             std::string(kAlgorithm) + " Credential=" + credentials.access_key_id +
                                 "/" + credential_scope + ", SignedHeaders=" + canonical.signed_ +
                                 ", Signature=" + out.signature);
    out.query = canonical_query;
  } else {
    out.query = canonical_query + "&X-Amz-Signature=" + out.signature;
    if (late_token)
      out.query += "&X-Amz-Security-Token=" + uri_encode(credentials.session_token, false);
  }
  return out;
}

} // namespace kiln::cloud
