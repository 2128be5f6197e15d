// The pieces of bake/ and cli/ that need no root: failure diagnosis, apt progress, the schema.
#include "bake/diagnose.hpp"
#include "cli/build_display.hpp"
#include "spec/fields.hpp"
#include "spec/schema.hpp"

#include <gtest/gtest.h>

namespace {

TEST(diagnose, a_missing_package_gets_a_hint_naming_it)
{
  kiln::Error error{kiln::ExitCode::build_failed, "apt-get ended with exit code 100", "", ""};
  kiln::bake::diagnose(error, {"Reading state information...", "E: Unable to locate package gti"},
                       "packages");
  EXPECT_EQ(error.code, kiln::ExitCode::build_failed);
  EXPECT_EQ(error.hint.rfind("no package named 'gti'", 0), 0u);
}

TEST(diagnose, an_unreachable_mirror_is_an_environment_problem)
{
  kiln::Error error{kiln::ExitCode::build_failed, "mmdebstrap ended with exit code 1", "", ""};
  kiln::bake::diagnose(error,
                       {"E: Failed to fetch http://127.0.0.1:9/debian/dists/bookworm/InRelease  "
                        "Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection "
                        "refused)"},
                       "bootstrap");
  EXPECT_EQ(error.code, kiln::ExitCode::environment);
  EXPECT_NE(error.hint.find("base.bootstrap.mirror"), std::string::npos);
}

TEST(diagnose, a_full_disk_says_so)
{
  kiln::Error error{kiln::ExitCode::build_failed, "x", "", ""};
  kiln::bake::diagnose(error, {"dpkg: error: No space left on device"}, "packages");
  EXPECT_EQ(error.code, kiln::ExitCode::environment);
  EXPECT_NE(error.hint.find("disk is full"), std::string::npos);
}

TEST(apt_progress, counts_what_apt_reports)
{
  kiln::cli::AptProgress progress;
  EXPECT_EQ(progress.summary(), "");
  for (const char* line : {"0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.",
                           "Get:1 http://mirror.invalid bookworm/main amd64 git", "Get:2 x",
                           "Unpacking git (1:2.39)", "Setting up git (1:2.39)"})
    progress.feed(line);
  EXPECT_EQ(progress.summary(), "apt: fetched 2, unpacked 1, set up 1/3");
}

TEST(schema, describes_every_key_the_loader_accepts)
{
  auto schema = kiln::spec::json_schema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  for (const auto& shape : kiln::spec::shapes()) {
    const auto& properties = shape.name == "definition"
                                 ? schema["properties"]
                                 : schema["$defs"][std::string(shape.name)]["properties"];
    for (const auto& field : shape.fields)
      EXPECT_TRUE(properties.contains(std::string(field.key))) << shape.name << "." << field.key;
    EXPECT_EQ(properties.size(), shape.fields.size()) << shape.name;
  }
  EXPECT_EQ(schema["required"], nlohmann::json({"name", "version", "base", "steps"}));
  EXPECT_EQ(schema["$defs"]["step"]["oneOf"].size(), 5u); // one per step kind
}

} // namespace
