// AWS credentials for tests: a fixed key pair from a stand-in environment, nothing else read.
#pragma once

#include "cloud/credentials.hpp"

#include <memory>
#include <string>

namespace kiln::test {

inline std::shared_ptr<cloud::CredentialSource> fake_keys(const std::string& id,
                                                          const std::string& secret)
{
  return std::make_shared<cloud::CredentialSource>(
      cloud::AwsContext{[id, secret](const std::string& name) -> std::string {
                          if (name == "AWS_ACCESS_KEY_ID")
                            return id;
                          if (name == "AWS_SECRET_ACCESS_KEY")
                            return secret;
                          return "";
                        },
                        ""});
}

} // namespace kiln::test
