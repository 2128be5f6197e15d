#include "util/semver.hpp"

#include <gtest/gtest.h>

using kiln::util::parse_version;

TEST(semver, parses_core_prerelease_and_build)
{
  auto v = parse_version("1.4.0-rc.1+build.5");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 1u);
  EXPECT_EQ(v->minor, 4u);
  EXPECT_EQ(v->patch, 0u);
  EXPECT_EQ(v->prerelease, (std::vector<std::string>{"rc", "1"}));
  EXPECT_EQ(v->build, (std::vector<std::string>{"build", "5"}));
  EXPECT_EQ(v->str(), "1.4.0-rc.1+build.5");
}
