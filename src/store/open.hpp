// Opening a store by its location: the URL's scheme chooses the backend (a folder path, or
// file://, is the local one).
#pragma once

#include "store/store.hpp"

#include <memory>
#include <string>

namespace kiln::store {

// How to reach a remote store: kiln.yaml's `s3:` and `transfers:`, the environment, the flags.
struct RemoteOptions {
  std::string endpoint;   // an S3-compatible server ("http://127.0.0.1:9000"); "" for AWS
  std::string region;     // "": as the AWS CLI finds it, else us-east-1
  std::string profile;    // "": AWS_PROFILE, else default
  std::string addressing; // "path" or "virtual"; "": path-style at an endpoint, virtual on AWS
  int transfers = 8;      // requests in flight at once
};

// A store from its location: a folder path or file:// URL is the local backend, s3://BUCKET/PREFIX
// the S3 one.
Expected<std::unique_ptr<Store>> open_store(const std::string& location,
                                            OpenMode mode = OpenMode::existing,
                                            const RemoteOptions& remote = {});

} // namespace kiln::store
