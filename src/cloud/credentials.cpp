#include "cloud/credentials.hpp"

#include "util/fs.hpp"
#include "util/http.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <vector>

namespace kiln::cloud {

namespace {

using nlohmann::json;

// What each source said when it gave nothing, for the error that lists them all.
using Tried = std::vector<std::string>;

std::string home_file(const AwsContext& context, const char* variable, const char* name)
{
  std::string given = context.get(variable);
  if (!given.empty())
    return given;
  std::string home = context.get("HOME");
  return (home.empty() ? std::string("/root") : home) + "/.aws/" + name;
}

int64_t parse_iso_time(const std::string& text) // "2026-12-07T12:00:00Z"; 0 when not one
{
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return end ? static_cast<int64_t>(timegm(&tm)) : 0;
}

std::optional<Credentials> from_environment(const AwsContext& context, Tried& tried)
{
  if (!context.profile.empty()) {
    tried.push_back("the environment (skipped: profile " + context.profile + " was given)");
    return std::nullopt;
  }
  std::string id = context.get("AWS_ACCESS_KEY_ID");
  std::string secret = context.get("AWS_SECRET_ACCESS_KEY");
  if (id.empty() || secret.empty()) {
    tried.push_back(std::string("the environment (") +
                    (id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is not set)");
    return std::nullopt;
  }
  return Credentials{id, secret, context.get("AWS_SESSION_TOKEN"), "the environment", 0};
}

// Static keys in a profile, or what is wrong with them.
std::optional<Credentials> static_keys(const std::map<std::string, std::string>& profile,
                                       const std::string& where, Tried& tried)
{
  auto id = profile.find("aws_access_key_id");
  auto secret = profile.find("aws_secret_access_key");
  if (id == profile.end() || secret == profile.end()) {
    tried.push_back(where + " (no aws_access_key_id and aws_secret_access_key)");
    return std::nullopt;
  }
  auto token = profile.find("aws_session_token");
  return Credentials{id->second, secret->second, token == profile.end() ? "" : token->second,
                     where, 0};
}

// Words of a command line as the AWS CLI splits credential_process: blanks separate, single
// and double quotes group, a backslash escapes the next character. No shell runs it.
std::vector<std::string> split_command(const std::string& line)
{
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size())
        word += line[++i];
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word)
        words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word)
    words.push_back(word);
  return words;
}

struct StdoutText : util::ProcessObserver {
  std::string text;
  bool too_long = false;
  void on_line(std::string_view line) override
  {
    if (text.size() + line.size() > (64 << 10)) {
      too_long = true;
      return;
    }
    text.append(line).append("\n");
  }
};

Expected<Credentials> run_credential_process(const std::string& command, const std::string& where)
{
  auto fail = [&](const std::string& why) {
    return make_error(ExitCode::input, "credential_process of " + where + " " + why,
                      "run it by hand: it must print the AWS CLI's JSON (Version 1, AccessKeyId, "
                      "SecretAccessKey, optional SessionToken and Expiration)");
  };
  util::ProcessSpec spec;
  spec.argv = split_command(command);
  if (spec.argv.empty())
    return fail("is empty");
  spec.discard_stderr = true;
  spec.timeout_seconds = 60;
  StdoutText out;
  auto ran = util::run_process(spec, &out);
  if (!ran)
    return fail("could not run: " + ran.error().message);
  if (!ran->success())
    return fail("failed (" + ran->describe() + ")");
  if (out.too_long)
    return fail("printed more than 64 KiB");
  try {
    json reply = json::parse(out.text);
    if (reply.value("Version", 0) != 1)
      return fail("printed a document whose Version is not 1");
    Credentials credentials{reply.at("AccessKeyId"), reply.at("SecretAccessKey"),
                            reply.value("SessionToken", ""), "credential_process of " + where,
                            parse_iso_time(reply.value("Expiration", ""))};
    return credentials;
  } catch (const json::exception&) {
    return fail("did not print the JSON the AWS CLI expects");
  }
}

// What the profile asks for that kiln cannot do.
std::optional<std::string> unsupported(const std::map<std::string, std::string>& profile)
{
  for (const char* key : {"role_arn", "sso_session", "sso_start_url", "web_identity_token_file"}) {
    if (profile.count(key))
      return std::string(key);
  }
  return std::nullopt;
}

// IMDSv2: a session token (PUT), the role's name, then its credentials, each within the timeout.
Expected<std::optional<Credentials>> from_instance_metadata(const AwsContext& context, Tried& tried)
{
  if (util::lower(context.get("AWS_EC2_METADATA_DISABLED")) == "true") {
    tried.push_back("the instance metadata service (AWS_EC2_METADATA_DISABLED=true)");
    return std::optional<Credentials>();
  }
  std::string endpoint = context.get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (endpoint.empty())
    endpoint = "http://169.254.169.254";
  while (!endpoint.empty() && endpoint.back() == '/')
    endpoint.pop_back();
  double timeout = 1;
  if (std::string given = context.get("AWS_METADATA_SERVICE_TIMEOUT"); !given.empty())
    timeout = std::max(0.1, std::atof(given.c_str()));
  auto ask = [&](const std::string& method, const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& headers)
      -> Expected<util::HttpResponse> {
    util::HttpRequest request;
    request.method = method;
    request.url = endpoint + path;
    request.headers = headers;
    request.timeout_seconds = timeout;
    request.max_body = 64 << 10;
    return util::http_request(request);
  };
  std::string where = "the instance metadata service at " + endpoint;
  auto token = ask("PUT", "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}});
  if (!token || token->status != 200) {
    tried.push_back(where + " (" +
                    (token ? "its token request answered HTTP " + std::to_string(token->status)
                           : "no answer within " + util::format_duration(timeout)) +
                    ")");
    return std::optional<Credentials>();
  }
  std::vector<std::pair<std::string, std::string>> auth = {
      {"X-aws-ec2-metadata-token", util::trim_copy(token->body)}};
  auto roles = ask("GET", "/latest/meta-data/iam/security-credentials/", auth);
  if (!roles || roles->status != 200 || util::trim(roles->body).empty()) {
    tried.push_back(where + " (the instance has no role" +
                    (roles ? ": HTTP " + std::to_string(roles->status) : std::string()) + ")");
    return std::optional<Credentials>();
  }
  std::string role = util::trim_copy(util::split(util::trim(roles->body), '\n').front());
  if (role.find('/') != std::string::npos || role == "..")
    return make_error(ExitCode::input, where + " named a role that is not one: " + role);
  auto reply = ask("GET", "/latest/meta-data/iam/security-credentials/" + role, auth);
  if (!reply)
    return std::move(reply).error();
  try {
    json document = json::parse(reply->body);
    if (reply->status != 200 || document.value("Code", "") != "Success")
      return make_error(ExitCode::input, where + " refused the credentials of role " + role +
                                             " (HTTP " + std::to_string(reply->status) + ")");
    Credentials credentials{document.at("AccessKeyId"), document.at("SecretAccessKey"),
                            document.value("Token", ""), "the instance role " + role,
                            parse_iso_time(document.value("Expiration", ""))};
    return std::optional<Credentials>(credentials);
  } catch (const json::exception&) {
    return make_error(ExitCode::input,
                      where + " answered with no credentials for role " + role);
  }
}

} // namespace

std::string AwsContext::get(const std::string& name) const
{
  if (env)
    return env(name);
  const char* value = std::getenv(name.c_str());
  return value ? value : "";
}

std::string AwsContext::profile_name() const
{
  if (!profile.empty())
    return profile;
  std::string from_env = get("AWS_PROFILE");
  return from_env.empty() ? "default" : from_env;
}

// The AWS files are ini files with one addition: an indented line under "key =" belongs to a
// nested section (s3 = ...), which kiln keeps as "key.sub". Small enough to read here.
std::optional<std::map<std::string, std::string>> read_aws_profile(const std::string& file,
                                                                   const std::string& profile,
                                                                   bool config_file)
{
  auto text = util::read_file(file);
  if (!text)
    return std::nullopt;
  std::string wanted = config_file && profile != "default" ? "profile " + profile : profile;
  std::map<std::string, std::string> values;
  bool inside = false, found = false;
  std::string parent; // the key of a nested section
  for (const auto& raw : util::split(*text, '\n')) {
    std::string_view line = util::trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';')
      continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = util::trim_copy(line.substr(1, line.size() - 2));
      inside = name == wanted;
      found = found || inside;
      parent.clear();
      continue;
    }
    if (!inside)
      continue;
    size_t equals = line.find('=');
    if (equals == std::string::npos)
      continue;
    std::string key = util::lower(util::trim(line.substr(0, equals)));
    std::string value = util::trim_copy(line.substr(equals + 1));
    bool nested = !raw.empty() && (raw[0] == ' ' || raw[0] == '\t') && !parent.empty();
    if (nested) {
      values[parent + "." + key] = value;
    } else {
      values[key] = value;
      parent = value.empty() ? key : "";
    }
  }
  if (!found)
    return std::nullopt;
  return values;
}

Expected<Credentials> find_credentials(const AwsContext& context)
{
  Tried tried;
  if (auto found = from_environment(context, tried))
    return *found;
  std::string profile = context.profile_name();
  std::string credentials_file = home_file(context, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  std::string config_file = home_file(context, "AWS_CONFIG_FILE", "config");
  auto in_credentials = read_aws_profile(credentials_file, profile, false);
  auto in_config = read_aws_profile(config_file, profile, true);
  for (const auto* section : {&in_credentials, &in_config}) {
    if (*section && unsupported(**section))
      return make_error(ExitCode::input,
                        "profile " + profile + " uses " + *unsupported(**section) +
                            ", which kiln cannot use yet",
                        "give the profile static keys or a credential_process (e.g. `aws "
                        "configure export-credentials --profile " +
                            profile + " --format process`)");
  }
  std::string where = "profile " + profile + " in " + credentials_file;
  if (!in_credentials)
    tried.push_back(where + " (no such file or profile)");
  else if (auto found = static_keys(*in_credentials, where, tried))
    return *found;
  where = "profile " + profile + " in " + config_file;
  if (!in_config) {
    tried.push_back(where + " (no such file or profile)");
  } else if (auto process = in_config->find("credential_process"); process != in_config->end()) {
    return run_credential_process(process->second, where);
  } else if (auto found = static_keys(*in_config, where, tried)) {
    return *found;
  }
  auto from_imds = from_instance_metadata(context, tried);
  if (!from_imds)
    return std::move(from_imds).error();
  if (*from_imds)
    return **from_imds;
  std::string list;
  for (const auto& t : tried)
    list += "\n  " + t;
  return make_error(ExitCode::input, "no AWS credentials found; tried:" + list,
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give a profile with "
                    "--profile or AWS_PROFILE, or run on an instance with a role");
}

std::string find_region(const AwsContext& context)
{
  for (const char* variable : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::string region = context.get(variable); !region.empty())
      return region;
  }
  auto profile =
      read_aws_profile(home_file(context, "AWS_CONFIG_FILE", "config"), context.profile_name(), true);
  if (profile) {
    if (auto it = profile->find("region"); it != profile->end())
      return it->second;
  }
  return "";
}

Expected<Credentials> CredentialSource::get()
{
  std::lock_guard lock(mutex_);
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (current_ && (current_->expiration == 0 || current_->expiration - now > 300))
    return *current_;
  auto found = find_credentials(context_);
  if (!found)
    return std::move(found).error();
  current_ = *found;
  return *found;
}

} // namespace kiln::cloud
