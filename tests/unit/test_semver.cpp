// Semantic Versioning 2.0.0, checked against the examples the specification itself gives.
#include "util/semver.hpp"

#include <gtest/gtest.h>

using kiln::util::compare;
using kiln::util::parse_version;
using kiln::util::Version;

namespace {

Version v(const char* text)
{
  auto parsed = parse_version(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : Version{};
}

TEST(semver, parses_core_prerelease_and_build)
{
  auto version = v("1.4.0-rc.1+build.5");
  EXPECT_EQ(version.major, 1u);
  EXPECT_EQ(version.minor, 4u);
  EXPECT_EQ(version.patch, 0u);
  EXPECT_EQ(version.prerelease, (std::vector<std::string>{"rc", "1"}));
  EXPECT_EQ(version.build, (std::vector<std::string>{"build", "5"}));
  EXPECT_EQ(version.str(), "1.4.0-rc.1+build.5");
}

TEST(semver, accepts_the_specifications_examples)
{
  for (const char* text :
       {"1.9.0", "1.10.0", "1.11.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
        "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0-alpha+001", "1.0.0+20130313144700",
        "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "0.0.0"}) {
    EXPECT_TRUE(parse_version(text)) << text;
  }
}

TEST(semver, rejects_malformed_versions_with_the_reason)
{
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"1.2", "it needs exactly three numbers MAJOR.MINOR.PATCH"},
                        Case{"1.2.3.4", "it needs exactly three numbers MAJOR.MINOR.PATCH"},
                        Case{"01.2.3", "MAJOR must not have leading zeros"},
                        Case{"1.02.3", "MINOR must not have leading zeros"},
                        Case{"1.2.x", "PATCH must be a number"},
                        Case{"1.2.3-", "pre-release has an empty identifier"},
                        Case{"1.2.3-01", "numeric pre-release identifier '01' must not have "
                                         "leading zeros"},
                        Case{"1.2.3-rc_1", "pre-release identifier 'rc_1' may only hold "
                                           "[0-9A-Za-z-]"},
                        Case{"1.2.3+", "build metadata has an empty identifier"},
                        Case{"v1.2.3", "MAJOR must be a number"},
                        Case{"99999999999999999999.0.0", "MAJOR is too large"}}) {
    auto parsed = parse_version(c.text);
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().message,
              "'" + std::string(c.text) + "' is not a semantic version: " + c.why);
  }
}

TEST(semver, precedence_follows_section_11)
{
  // The chain from the specification, section 11.
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                         "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                         "1.0.0-rc.1",  "1.0.0",         "2.0.0",
                         "2.1.0",       "2.1.1"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) {
    EXPECT_TRUE(compare(v(chain[i]), v(chain[i + 1])) < 0) << chain[i] << " < " << chain[i + 1];
    EXPECT_TRUE(compare(v(chain[i + 1]), v(chain[i])) > 0) << chain[i + 1] << " > " << chain[i];
  }
  EXPECT_TRUE(compare(v("1.9.0"), v("1.10.0")) < 0);
  EXPECT_TRUE(compare(v("1.10.0"), v("1.11.0")) < 0);
}

TEST(semver, build_metadata_does_not_count_for_precedence)
{
  EXPECT_TRUE(compare(v("1.0.0+a"), v("1.0.0+b")) == 0);
  EXPECT_TRUE(compare(v("1.0.0-rc.1+x"), v("1.0.0-rc.1")) == 0);
}

} // namespace

namespace {

using kiln::util::parse_range;
using kiln::util::parse_version;

bool in(const char* range, const char* version)
{
  auto r = parse_range(range);
  auto v = parse_version(version);
  EXPECT_TRUE(r) << range;
  EXPECT_TRUE(v) << version;
  return r && v && kiln::util::satisfies(*v, *r);
}

TEST(semver_ranges, caret_tilde_wildcard_and_exact)
{
  EXPECT_TRUE(in("^1.2", "1.2.0"));
  EXPECT_TRUE(in("^1.2", "1.9.4"));
  EXPECT_FALSE(in("^1.2", "2.0.0"));
  EXPECT_FALSE(in("^1.2", "1.1.9"));
  EXPECT_TRUE(in("^0.2.3", "0.2.9"));
  EXPECT_FALSE(in("^0.2.3", "0.3.0"));
  EXPECT_FALSE(in("^0.0.3", "0.0.4"));
  EXPECT_TRUE(in("~1.2.3", "1.2.9"));
  EXPECT_FALSE(in("~1.2.3", "1.3.0"));
  EXPECT_FALSE(in("~1.2.3", "1.2.2"));
  EXPECT_TRUE(in("~1", "1.9.0"));
  EXPECT_TRUE(in("1.x", "1.0.0"));
  EXPECT_FALSE(in("1.x", "2.0.0"));
  EXPECT_TRUE(in("1.2.x", "1.2.7"));
  EXPECT_FALSE(in("1.2.x", "1.3.0"));
  EXPECT_TRUE(in("*", "7.0.0"));
  EXPECT_TRUE(in("1.4.0", "1.4.0+build.9")); // build metadata does not count
  EXPECT_FALSE(in("1.4.0", "1.4.1"));
}

TEST(semver_ranges, prereleases_only_when_the_range_names_one)
{
  EXPECT_FALSE(in("^1.2", "1.3.0-rc.1"));
  EXPECT_FALSE(in("*", "1.0.0-beta"));
  EXPECT_TRUE(in("^1.2.0-rc.1", "1.2.0-rc.2"));
  EXPECT_TRUE(in("^1.2.0-rc.1", "1.2.0"));
  EXPECT_FALSE(in("^1.2.0-rc.1", "1.3.0-rc.1"));
  EXPECT_TRUE(in("1.2.0-rc.1", "1.2.0-rc.1"));
}

TEST(semver_ranges, best_match_picks_the_highest)
{
  std::vector<kiln::util::Version> versions;
  for (const char* text : {"1.0.0", "1.2.0", "1.10.1", "2.0.0", "1.11.0-rc.1"})
    versions.push_back(*parse_version(text));
  EXPECT_EQ(kiln::util::best_match(versions, *parse_range("^1"))->str(), "1.10.1");
  EXPECT_EQ(kiln::util::best_match(versions, *parse_range("~1.2"))->str(), "1.2.0");
  EXPECT_FALSE(kiln::util::best_match(versions, *parse_range("^3")));
}

TEST(semver_ranges, malformed_ranges_say_why)
{
  for (const char* bad : {"", "^", "1.x.3", "^1.2.3.4", "latest", "01.2"}) {
    auto range = parse_range(bad);
    ASSERT_FALSE(range) << bad;
    EXPECT_NE(range.error().message.find("is not a version range"), std::string::npos)
        << range.error().message;
  }
}

} // namespace
