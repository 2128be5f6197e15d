// The VM builder's part of a definition (builder:, base: {disk:}, reboot:), its base disk checks
// (formats, a qcow2 that reads another file), and its one layer's key.
#include "bake/base_disk.hpp"
#include "bake/plan.hpp"
#include "spec/loader.hpp"
#include "test_support.hpp"

#include <fstream>
#include <gtest/gtest.h>

using kiln::spec::load_definition_text;

namespace {

const std::string kSum(64, 'a');

class VmDefinition : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("vm");
    dir_.write("base.raw", "a raw disk");
    dir_.write("image-out/manifest.json", "{}");
    dir_.write("not-an-image/notes.txt", "");
  }

  kiln::spec::LoadResult load(const std::string& yaml)
  {
    return load_definition_text("name: a\nversion: 1.0.0\n" + yaml, "image.yaml", dir_.path());
  }

  // The one problem the definition has.
  std::string problem(const std::string& yaml)
  {
    auto result = load(yaml);
    if (result.diagnostics.size() != 1)
      return "expected one problem, got " + std::to_string(result.diagnostics.size()) +
             (result.diagnostics.empty() ? "" : ": " + result.diagnostics[0].str());
    return result.diagnostics[0].message;
  }

  kiln::test::TempDir dir_;
};

TEST_F(VmDefinition, loads_a_disk_file_with_its_sha256_and_reboot)
{
  auto result = load("builder: vm\nbase: {disk: base.raw, sha256: " + kSum +
                     "}\nsteps: [{shell: 'true', reboot: true}]\n");
  ASSERT_TRUE(result.definition) << result.diagnostics[0].str();
  const auto& def = *result.definition;
  EXPECT_EQ(def.builder, kiln::spec::Builder::vm);
  ASSERT_TRUE(def.base.disk);
  EXPECT_EQ(def.base.disk->path, dir_.path() / "base.raw");
  EXPECT_EQ(def.base.disk->sha256, kSum);
  EXPECT_TRUE(def.steps[0].reboot);
}

TEST_F(VmDefinition, loads_a_kiln_image_folder_without_a_sha256)
{
  auto result = load("builder: vm\nbase: {disk: image-out}\nsteps: [{shell: 'true'}]\n");
  ASSERT_TRUE(result.definition) << result.diagnostics[0].str();
  EXPECT_TRUE(result.definition->base.disk->sha256.empty());
}

TEST_F(VmDefinition, loads_a_published_image_as_the_disk_and_as_a_tree_base)
{
  auto result =
      load("builder: vm\nbase: {disk: 'kiln:linux-agent@prod'}\nsteps: [{shell: 'true'}]\n");
  ASSERT_TRUE(result.definition) << result.diagnostics[0].str();
  ASSERT_TRUE(result.definition->base.disk && result.definition->base.disk->store);
  EXPECT_EQ(result.definition->base.disk->store->ref, "linux-agent@prod");
  EXPECT_TRUE(result.definition->base.disk->path.empty()); // the command pulls it
  auto tree = load("base: kiln:linux-base@^1.2\nsteps: [{shell: 'true'}]\n");
  ASSERT_TRUE(tree.definition) << tree.diagnostics[0].str();
  ASSERT_TRUE(tree.definition->base.image_store);
  EXPECT_EQ(tree.definition->base.image_store->ref, "linux-base@^1.2");
  auto bases = kiln::spec::store_bases(tree.definition->base);
  ASSERT_EQ(bases.size(), 1u);
  EXPECT_EQ(bases[0]->ref, "linux-base@^1.2");
}

TEST_F(VmDefinition, refuses_a_published_base_that_is_not_a_reference)
{
  const std::string steps = "steps: [{shell: 'true'}]\n";
  EXPECT_EQ(problem("base: kiln:linux-base\n" + steps),
            "base kiln:linux-base: 'linux-base' names no version: write NAME@CHANNEL, "
            "NAME@VERSION or NAME@RANGE");
  EXPECT_EQ(problem("base: kiln:../etc@prod\n" + steps),
            "base kiln:../etc@prod: '../etc' is not a valid image name");
  EXPECT_EQ(problem("base: 'kiln:agent@prod/../x'\n" + steps),
            "base kiln:agent@prod/../x: 'prod/../x' is not a channel, a version or a range");
  EXPECT_EQ(problem("builder: vm\nbase: {disk: 'kiln:Agent@1.0.0'}\n" + steps),
            "base.disk kiln:Agent@1.0.0: 'Agent' is not a valid image name");
  EXPECT_EQ(problem("base: kiln:agent@\n" + steps),
            "base kiln:agent@: '' is not a channel, a version or a range");
}

TEST_F(VmDefinition, refuses_what_does_not_fit_together)
{
  const std::string steps = "steps: [{shell: 'true'}]\n";
  const std::string disk = "base: {disk: base.raw, sha256: " + kSum + "}\n";
  EXPECT_EQ(problem("builder: vm\nbase: {bootstrap: {}}\n" + steps),
            "builder: vm needs a disk to boot");
  EXPECT_EQ(problem(disk + steps),
            "a disk base is booted by the VM builder, which the definition does not ask for");
  EXPECT_EQ(problem("builder: cloud\n" + disk + steps), "builder 'cloud' is not known");
  EXPECT_EQ(problem("base: {bootstrap: {}}\nsteps: [{shell: 'true', reboot: true}]\n"),
            "step 'shell-1' asks for reboot: true, which only builder: vm can do");
  EXPECT_EQ(problem("builder: vm\n" + disk + "steps: [{shell: 'true', network: none}]\n"),
            "step 'shell-1' asks for network: none, which builder: vm cannot give (the machine "
            "has one network)");
  EXPECT_EQ(problem("builder: vm\n" + disk + steps + "requirements: {users: [{name: u}]}\n"),
            "requirements: is not supported with builder: vm yet");
}

TEST_F(VmDefinition, refuses_a_bad_disk_base)
{
  const std::string steps = "builder: vm\nsteps: [{shell: 'true'}]\n";
  EXPECT_EQ(problem(steps + "base: {disk: base.raw}\n"),
            "base disk base.raw is a file: its sha256 must be given");
  EXPECT_EQ(problem(steps + "base: {disk: base.raw, sha256: ABC}\n"),
            "base.sha256 is not a sha256");
  EXPECT_EQ(problem(steps + "base: {disk: missing.raw, sha256: " + kSum + "}\n"),
            "base disk missing.raw is not a kiln image folder or a disk image file");
  EXPECT_EQ(problem(steps + "base: {disk: not-an-image}\n"),
            "base disk not-an-image is a folder but not a built kiln image (no manifest.json)");
  EXPECT_EQ(problem("base: {disk: base.raw, sha256: " + kSum +
                    ", bootstrap: {}}\nsteps: [{shell: 'true'}]\n"),
            "base has both bootstrap and disk");
  EXPECT_EQ(problem("base: {bootstrap: {}, sha256: " + kSum + "}\nsteps: [{shell: 'true'}]\n"),
            "base.sha256 is for a disk base");
}

// A qcow2 header: magic, version, backing file offset, and (version 3) incompatible features.
std::string qcow2_header(uint32_t version, uint64_t backing_offset, uint64_t incompatible)
{
  std::string header(104, '\0');
  header.replace(0, 4, "QFI\xfb");
  auto put = [&](size_t at, uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i, value >>= 8)
      header[at + i] = static_cast<char>(value & 0xff);
  };
  put(4, version, 4);
  put(8, backing_offset, 8);
  put(24, 3ull << 30, 8); // the virtual size: 3 GiB
  put(72, incompatible, 8);
  return header;
}

TEST(BaseDisk, tells_raw_from_qcow2_and_refuses_one_that_reads_another_file)
{
  kiln::test::TempDir dir("vm-disk");
  using kiln::bake::disk_format_of;
  auto raw = disk_format_of(dir.write("a.raw", std::string(512, '\0')));
  EXPECT_EQ(raw->name, "raw");
  EXPECT_EQ(raw->virtual_size, 512u);
  auto qcow2 = disk_format_of(dir.write("a.qcow2", qcow2_header(3, 0, 0)));
  EXPECT_EQ(qcow2->name, "qcow2");
  EXPECT_EQ(qcow2->virtual_size, 3ull << 30);
  EXPECT_EQ(disk_format_of(dir.write("v2.qcow2", qcow2_header(2, 0, 4)))->name, "qcow2");
  auto backed = disk_format_of(dir.write("b.qcow2", qcow2_header(3, 0x200, 0)));
  ASSERT_FALSE(backed);
  EXPECT_NE(backed.error().message.find("reads another file (a backing file)"), std::string::npos);
  auto external = disk_format_of(dir.write("c.qcow2", qcow2_header(3, 0, 4)));
  ASSERT_FALSE(external);
  EXPECT_NE(external.error().message.find("an external data file"), std::string::npos);
  EXPECT_FALSE(disk_format_of(dir.write("short.qcow2", "QFI\xfb\0\0\0\3")));
}

TEST_F(VmDefinition, has_one_layer_keyed_by_the_disk_and_every_step)
{
  auto key_of = [&](const std::string& steps, const std::string& disk_sha256) {
    auto result = load("builder: vm\nbase: {disk: base.raw, sha256: " + kSum + "}\n" + steps);
    EXPECT_TRUE(result.definition);
    kiln::bake::Inputs inputs;
    inputs.base_disk = kiln::bake::BaseDisk{"base.raw", "raw", disk_sha256, ""};
    auto specs = kiln::bake::layer_specs(*result.definition, inputs);
    EXPECT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].kind, "vm");
    return kiln::bake::layer_key(specs[0], "");
  };
  std::string one = "steps: [{shell: 'true'}]\n";
  std::string base = key_of(one, kSum);
  EXPECT_EQ(key_of(one, kSum), base);
  EXPECT_NE(key_of(one, std::string(64, 'b')), base);
  EXPECT_NE(key_of("steps: [{shell: 'true', reboot: true}]\n", kSum), base);
  EXPECT_NE(key_of("steps: [{shell: 'true'}, {packages: [git]}]\n", kSum), base);
}

} // namespace
