// What each step kind asks of its tree, checked without root: the steps run against a runner
// that records the commands instead of starting them in the sandbox.
#include "bake/requirements.hpp"
#include "bake/steps.hpp"
#include "spec/loader.hpp"
#include "test_support.hpp"

#include <functional>
#include <gtest/gtest.h>

namespace {

using kiln::bake::StepContext;
using kiln::bake::TreeCommand;

struct Quiet : kiln::bake::BuildObserver {};

class Recorder : public kiln::bake::TreeRunner {
public:
  kiln::Status run(const TreeCommand& command, kiln::bake::StepLog&) override
  {
    commands.push_back(command);
    return kiln::ok_status();
  }
  kiln::Expected<int> exit_code(const TreeCommand& command, kiln::bake::StepLog&) override
  {
    commands.push_back(command);
    return answer ? answer(command) : 0;
  }
  std::vector<TreeCommand> commands;
  std::function<int(const TreeCommand&)> answer; // the exit code of a question; 0 when unset
};

bool has(const std::vector<std::string>& list, const std::string& item)
{
  return std::find(list.begin(), list.end(), item) != list.end();
}

class Steps : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("steps");
    dir_.write("files/setup.sh", "#!/bin/bash -x\necho hi\n");
    dir_.write("files/env.sh", "export A=1\n");
    auto file = dir_.write("image.yaml", R"(name: steps
version: 1.0.0
base: {bootstrap: {}}
steps:
  - {name: tools, packages: [jq, tree]}
  - {name: inline, shell: 'echo inline'}
  - {name: script, shell: {script: files/setup.sh}}
  - {name: env, file: {src: files/env.sh, dest: /etc/profile.d/env.sh, mode: '0644'}}
  - {name: quiet, network: none, shell: 'true'}
)");
    auto loaded = kiln::spec::load_definition(file);
    ASSERT_TRUE(loaded.definition) << loaded.diagnostics[0].str();
    definition_ = std::move(*loaded.definition);
  }

  // Runs step `index` and returns what it asked for.
  std::vector<TreeCommand> run(size_t index)
  {
    Quiet quiet;
    kiln::bake::StepLog log("/dev/null", quiet);
    Recorder recorder;
    const auto& step = definition_.steps.at(index);
    StepContext context{definition_, inputs_, "/merged", {},    dir_.path() / "scratch",
                        1700000000,  nullptr, {},        false, step.offline,
                        &recorder};
    EXPECT_TRUE(kiln::bake::run_step(step, context, log));
    return recorder.commands;
  }

  kiln::test::TempDir dir_;
  kiln::spec::Definition definition_;
  kiln::bake::Inputs inputs_;
};

TEST_F(Steps, packages_update_lists_only_when_missing_then_install_without_recommends)
{
  auto commands = run(0);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_NE(commands[0].argv[3].find("apt-get update"), std::string::npos);
  const auto& install = commands[1].argv;
  EXPECT_TRUE(has(install, "jq") && has(install, "tree"));
  EXPECT_TRUE(has(install, "--no-install-recommends"));
  EXPECT_TRUE(has(commands[1].extra_env, "SOURCE_DATE_EPOCH=1700000000"));
  EXPECT_TRUE(commands[1].binds.empty()); // no package cache given
}

TEST_F(Steps, shell_runs_inline_text_and_scripts_with_their_interpreter)
{
  auto inline_run = run(1);
  ASSERT_EQ(inline_run.size(), 1u);
  EXPECT_EQ(inline_run[0].argv, (std::vector<std::string>{"/bin/sh", "-eu", "-c", "echo inline"}));
  EXPECT_EQ(inline_run[0].tree, "/merged");
  EXPECT_EQ(inline_run[0].network, kiln::sandbox::Network::isolated);

  auto script = run(2);
  ASSERT_EQ(script.size(), 1u);
  EXPECT_EQ(script[0].argv,
            (std::vector<std::string>{"/bin/bash", "-eu", "-x", kiln::bake::kStepInput}));
  ASSERT_EQ(script[0].binds.size(), 1u);
  EXPECT_EQ(script[0].binds[0].source, dir_.path() / "files/setup.sh");
  EXPECT_EQ(script[0].binds[0].target, kiln::bake::kStepInput);
  EXPECT_FALSE(script[0].binds[0].writable);
}

TEST_F(Steps, file_copies_from_inside_the_tree_with_owner_and_mode)
{
  auto commands = run(3);
  ASSERT_EQ(commands.size(), 1u);
  const auto& argv = commands[0].argv;
  EXPECT_TRUE(has(argv, "/etc/profile.d/env.sh"));
  EXPECT_TRUE(has(argv, "0:0"));
  EXPECT_TRUE(has(argv, "0644"));
  ASSERT_EQ(commands[0].binds.size(), 1u);
  EXPECT_EQ(commands[0].binds[0].source, dir_.path() / "files/env.sh");
}

TEST_F(Steps, a_step_without_network_runs_offline)
{
  auto commands = run(4);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].network, kiln::sandbox::Network::none);
}

// The requirements layer: groups first, users added when absent, sudo installed when a rule
// needs it, each rule checked with visudo.
TEST(Requirements, groups_users_and_sudo_rules)
{
  kiln::test::TempDir dir("requirements");
  auto file = dir.write("image.yaml", R"(name: req
version: 1.0.0
base: {bootstrap: {}}
requirements:
  groups:
    - {name: builders, gid: 2100}
  users:
    - {name: azdo, uid: 1001, shell: /bin/bash, groups: [builders, docker],
       sudo: "ALL=(ALL) NOPASSWD: ALL"}
steps:
  - {name: a, shell: 'true'}
)");
  auto loaded = kiln::spec::load_definition(file);
  ASSERT_TRUE(loaded.definition) << loaded.diagnostics[0].str();
  Quiet quiet;
  kiln::bake::StepLog log("/dev/null", quiet);
  Recorder recorder;
  recorder.answer = [](const TreeCommand& command) {
    if (command.argv.at(0) == "id")
      return 1; // the user does not exist yet
    if (command.argv.at(0) == "test")
      return 1; // no visudo: sudo must be installed
    return 0;
  };
  kiln::bake::Inputs inputs;
  StepContext context{*loaded.definition, inputs,  "/merged", {},    dir.path(),
                      1700000000,         nullptr, {},        false, false,
                      &recorder};
  ASSERT_TRUE(kiln::bake::apply_requirements(loaded.definition->requirements, context, log));
  const auto& c = recorder.commands;
  EXPECT_EQ(c.at(0).argv, (std::vector<std::string>{"groupadd", "-f", "-g", "2100", "builders"}));
  auto useradd = std::find_if(c.begin(), c.end(), [](const TreeCommand& command) {
    return command.argv.at(0) == "useradd";
  });
  ASSERT_NE(useradd, c.end());
  EXPECT_TRUE(has(useradd->argv, "--groups") && has(useradd->argv, "builders,docker"));
  EXPECT_TRUE(has(useradd->argv, "1001") && has(useradd->argv, "azdo"));
  auto install = std::find_if(c.begin(), c.end(), [](const TreeCommand& command) {
    return has(command.argv, "install") && has(command.argv, "sudo");
  });
  EXPECT_NE(install, c.end()) << "sudo was not installed for the rule";
  auto visudo = std::find_if(c.begin(), c.end(), [](const TreeCommand& command) {
    return command.argv.at(0) == "visudo";
  });
  ASSERT_NE(visudo, c.end());
  EXPECT_TRUE(has(visudo->argv, "/etc/sudoers.d/kiln-azdo"));
  EXPECT_GT(visudo - c.begin(), install - c.begin()); // checked after sudo is there
}

} // namespace
