#include "release/signatures.hpp"

#include "util/signing.hpp"

namespace kiln::release {

Expected<std::vector<Signature>> sign_version(const nlohmann::json& body,
                                              const std::filesystem::path& private_key)
{
  auto signed_by = util::sign_keyed(signed_message(body), private_key);
  if (!signed_by)
    return std::move(signed_by).error();
  return std::vector<Signature>{{signed_by->keyid, signed_by->sig}};
}

Expected<std::string> check_version_signature(const VersionDocument& document,
                                              const std::filesystem::path& public_key)
{
  const Version& v = document.version;
  std::string what = v.name + "@" + v.version;
  if (document.signatures.empty())
    return make_error(ExitCode::input, what + " is not signed, and a public key is configured",
                      "publish it with a signing key, or pull without --public-key");
  auto fingerprint = util::key_fingerprint(public_key);
  if (!fingerprint)
    return std::move(fingerprint).error();
  for (const auto& signature : document.signatures) {
    auto valid = util::verify_signature(signed_message(document.body), signature.sig, public_key);
    if (!valid)
      return std::move(valid).error();
    if (*valid)
      return *fingerprint;
  }
  return make_error(ExitCode::input,
                    what + " has no valid signature by " + *fingerprint + " (" +
                        public_key.string() + ")",
                    "the version document was changed after publishing, or signed by another key");
}

} // namespace kiln::release
