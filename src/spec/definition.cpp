#include "spec/definition.hpp"

#include <algorithm>
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

std::string check_store_ref(const std::string& ref)
{
  size_t at = ref.find('@');
  if (at == std::string::npos)
    return "'" + ref + "' names no version: write NAME@CHANNEL, NAME@VERSION or NAME@RANGE";
  if (!valid_image_name(ref.substr(0, at)))
    return "'" + ref.substr(0, at) + "' is not a valid image name";
  static const std::regex selector("[A-Za-z0-9.+^~*<>=-]{1,128}");
  if (!std::regex_match(ref.substr(at + 1), selector))
    return "'" + ref.substr(at + 1) + "' is not a channel, a version or a range";
  return "";
}

std::vector<StoreBase*> store_bases(Base& base)
{
  std::vector<StoreBase*> bases;
  if (base.image_store)
    bases.push_back(&*base.image_store);
  if (base.disk && base.disk->store)
    bases.push_back(&*base.disk->store);
  return bases;
}

} // namespace kiln::spec

namespace kiln::spec {

bool needs_running_system(const ImageTest& test)
{
  return test.kind == "port" || test.kind == "boot_time" || (test.kind == "service" && test.active);
}

bool wants_disk(const Definition& definition)
{
  for (const auto& output : definition.outputs) {
    if (std::find(kDiskOutputs.begin(), kDiskOutputs.end(), output) != kDiskOutputs.end())
      return true;
  }
  return false;
}

} // namespace kiln::spec
