// AWS credentials and the region, found where the AWS CLI finds them and in its order:
//   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (skipped when
//      a profile is given explicitly, as --profile does to the CLI);
//   2. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials), the profile
//      (--profile, AWS_PROFILE, else "default");
//   3. that profile's credential_process in the config file (AWS_CONFIG_FILE, ~/.aws/config);
//   4. static keys in the config file's profile;
//   5. the EC2 instance metadata service, IMDSv2 (a session token first), at
//      AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254, unless
//      AWS_EC2_METADATA_DISABLED=true: what a CI agent with an instance role has.
// A failure names every source tried and why each gave nothing. Roles to assume, SSO and web
// identity profiles are refused by name: kiln does not speak STS yet.
#pragma once

#include "cloud/sigv4.hpp"
#include "util/error.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace kiln::cloud {

// Where the lookup reads: the environment (replaceable in tests) and an explicit profile.
struct AwsContext {
  std::function<std::string(const std::string&)> env; // "" when unset; null: the process's
  std::string profile;                                  // explicit (--profile); "" for none

  std::string get(const std::string& name) const;
  std::string profile_name() const; // explicit, else AWS_PROFILE, else "default"
};

// One profile's keys from an AWS ini file (~/.aws/config names "[profile NAME]", the credentials
// file "[NAME]"); nullopt when the file or the profile is missing.
std::optional<std::map<std::string, std::string>> read_aws_profile(const std::string& file,
                                                                   const std::string& profile,
                                                                   bool config_file);

// The credentials, found once; `find` again for temporary ones near their expiration.
Expected<Credentials> find_credentials(const AwsContext& context);

// AWS_REGION, AWS_DEFAULT_REGION, the profile's region in the config file; "" when none.
std::string find_region(const AwsContext& context);

// Credentials kept for the work's length and found again five minutes before they expire. Safe
// to call from several threads.
class CredentialSource {
public:
  explicit CredentialSource(AwsContext context) : context_(std::move(context)) {}
  Expected<Credentials> get();

private:
  AwsContext context_;
  std::mutex mutex_;
  std::optional<Credentials> current_;
};

} // namespace kiln::cloud
