#include "spec/definition.hpp"

#include <regex>

namespace kiln::spec {

std::string Step::kind() const
{
  static const char* names[] = {"packages", "shell", "file", "artifact", "ansible"};
  return names[body.index()];
}

std::string AnsibleStep::folder() const
{
  return std::filesystem::path(playbook).parent_path().string();
}

std::filesystem::path local_artifact_path(const Definition& definition, const std::string& url)
{
  if (url.rfind("file://", 0) == 0)
    return url.substr(7);
  if (url.rfind("file:", 0) == 0)
    return definition.dir / url.substr(5);
  return {};
}

bool valid_image_name(const std::string& name)
{
  static const std::regex pattern("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  return std::regex_match(name, pattern);
}

} // namespace kiln::spec
