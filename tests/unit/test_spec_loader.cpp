// The definition loader: one valid definition, and malformed ones, each checked for its exact
// message and position.
#include "spec/loader.hpp"
#include "test_support.hpp"

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>

using kiln::spec::Diagnostic;
using kiln::spec::load_definition_text;

namespace {

class SpecLoader : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("spec");
    dir_.write("files/env.sh", "export A=1\n");
    dir_.write("files/setup.sh", "#!/bin/sh\necho hi\n");
    dir_.write("files/conf/a.conf", "a=1\n");
    dir_.write("vendor/tool.tar.gz", "not really an archive");
    dir_.write("ansible/site.yml", "- hosts: kiln\n  tasks: []\n");
    dir_.write("ansible/roles/motd/tasks/main.yml", "[]\n");
    dir_.write("play.yml", "- hosts: kiln\n");
  }

  std::vector<Diagnostic> errors(const std::string& yaml)
  {
    return load_definition_text(yaml, "image.yaml", dir_.path()).diagnostics;
  }

  kiln::test::TempDir dir_;
};

const char* kValid = R"(name: agent
version: 1.2.3-rc.1+b5
base:
  bootstrap:
    suite: bookworm
    variant: minbase
    mirror: http://mirror.invalid/debian
    components: [main, contrib]
    packages: [ca-certificates]
steps:
  - name: tools
    packages: [git, curl=7.88.1-10+deb12u5, libc6:amd64]
  - shell: echo inline
  - shell: {script: files/setup.sh}
  - file: {src: files/env.sh, dest: /etc/profile.d/env.sh, mode: "0644", owner: "azdo:azdo"}
  - file: {src: files/conf, dest: /etc/agent}
  - artifact:
      url: file:vendor/tool.tar.gz
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      extract_to: /opt/tool
      strip_components: 1
  - artifact:
      url: https://artifacts.invalid/tool
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      dest: /usr/local/bin/tool
      mode: "0755"
outputs: [rootfs]
)";

TEST_F(SpecLoader, loads_a_valid_definition)
{
  auto result = load_definition_text(kValid, "image.yaml", dir_.path());
  ASSERT_TRUE(result.diagnostics.empty()) << result.diagnostics[0].str();
  const auto& def = *result.definition;
  EXPECT_EQ(def.name, "agent");
  EXPECT_EQ(def.version, "1.2.3-rc.1+b5");
  EXPECT_EQ(def.base.bootstrap.components, (std::vector<std::string>{"main", "contrib"}));
  ASSERT_EQ(def.steps.size(), 7u);
  EXPECT_EQ(def.steps[0].name, "tools");
  EXPECT_EQ(def.steps[1].name, "shell-2");
  EXPECT_EQ(def.steps[1].kind(), "shell");
  EXPECT_EQ(std::get<kiln::spec::ShellStep>(def.steps[1].body).run, "echo inline");
  EXPECT_EQ(std::get<kiln::spec::FileStep>(def.steps[3].body).mode, 0644u);
  EXPECT_EQ(std::get<kiln::spec::ArtifactStep>(def.steps[5].body).strip_components, 1);
  EXPECT_EQ(std::get<kiln::spec::ArtifactStep>(def.steps[6].body).mode, 0755u);
  EXPECT_EQ(def.steps[4].position.line, 16);
}

TEST_F(SpecLoader, defaults_apply_when_base_fields_are_left_out)
{
  auto result = load_definition_text(
      "name: a\nversion: 1.0.0\nbase: {bootstrap: {}}\nsteps: [{shell: 'true'}]\n", "image.yaml",
      dir_.path());
  ASSERT_TRUE(result.definition);
  EXPECT_EQ(result.definition->base.bootstrap.suite, "bookworm");
  EXPECT_EQ(result.definition->base.bootstrap.variant, "minbase");
  EXPECT_EQ(result.definition->outputs, (std::vector<std::string>{"rootfs"}));
}

struct Malformed {
  const char* title;
  std::string yaml;
  int line;
  int column;
  std::string message;
  std::string hint_part = {}; // when set, the hint must contain it
};

const std::string kHead = "name: a\nversion: 1.0.0\nbase: {bootstrap: {}}\n";

// Each definition is wrong in one way; the loader must report exactly that.
std::vector<Malformed> malformed_cases()
{
  return {
      {"yaml syntax", kHead + "steps: [{shell: x}\n", 5, 1,
       "YAML syntax: end of sequence flow not found"},
      {"top level is a list", "- a\n- b\n", 1, 1, "the definition must be a mapping, not a list"},
      {"a second document", kHead + "steps: [{shell: x}]\n---\nname: b\n", 6, 1,
       "a second YAML document starts here", "'---'"},
      {"invalid UTF-8 in a comment", kHead + "steps: [{shell: x}] # caf\xe9\n", 4, 26,
       "the text is not valid UTF-8 here"},
      {"invalid UTF-8 in a shell string", kHead + "steps: [{shell: 'echo \xc3\xa9 \xff'}]\n", 4, 25,
       "the text is not valid UTF-8 here"},
      {"an overlong UTF-8 form", kHead + "steps: [{shell: 'echo \xc0\xaf'}]\n", 4, 23,
       "the text is not valid UTF-8 here"},
      {"nested too deep", kHead + "steps: " + std::string(70, '[') + std::string(70, ']') + "\n", 4,
       72, "values are nested more than 64 deep"},
      {"empty file", "", 1, 1, "the definition is empty"},
      {"unknown top-level key", kHead + "steps: [{shell: x}]\nverison: 2\n", 5, 1,
       "unknown key 'verison' in the definition", "did you mean 'version'?"},
      {"missing name", "version: 1.0.0\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n", 1, 1,
       "missing required key 'name' in the definition"},
      {"missing steps", kHead, 1, 1, "missing required key 'steps' in the definition"},
      {"name is a list", "name: [a]\nversion: 1.0.0\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n",
       1, 7, "name must be a string, not a list"},
      {"name with capitals",
       "name: Agent\nversion: 1.0.0\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n", 1, 7,
       "name 'Agent' is not a valid image name"},
      {"version with two numbers",
       "name: a\nversion: 1.4\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n", 2, 10,
       "'1.4' is not a semantic version: it needs exactly three numbers MAJOR.MINOR.PATCH"},
      {"version with leading zero",
       "name: a\nversion: 01.4.0\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n", 2, 10,
       "'01.4.0' is not a semantic version: MAJOR must not have leading zeros"},
      {"version with empty prerelease identifier",
       "name: a\nversion: 1.0.0-rc..1\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n", 2, 10,
       "'1.0.0-rc..1' is not a semantic version: pre-release has an empty identifier"},
      {"version empty", "name: a\nversion:\nbase: {bootstrap: {}}\nsteps: [{shell: x}]\n", 2, 1,
       "version must be a string, not empty"},
      {"base is a list", "name: a\nversion: 1.0.0\nbase: [debian]\nsteps: [{shell: x}]\n", 3, 7,
       "base must be a mapping, not a list"},
      {"base key misspelt",
       "name: a\nversion: 1.0.0\nbase: {bootstrapp: {}}\nsteps: [{shell: x}]\n", 3, 8,
       "unknown key 'bootstrapp' in base", "did you mean 'bootstrap'?"},
      {"unknown variant",
       "name: a\nversion: 1.0.0\nbase: {bootstrap: {variant: minbsae}}\nsteps: [{shell: x}]\n", 3,
       29, "base.bootstrap.variant 'minbsae' is not an mmdebstrap variant",
       "did you mean 'minbase'?"},
      {"components not a list",
       "name: a\nversion: 1.0.0\nbase: {bootstrap: {components: main}}\nsteps: [{shell: x}]\n", 3,
       32, "base.bootstrap.components must be a list, not a single value"},
      {"mirror without scheme",
       "name: a\nversion: 1.0.0\nbase: {bootstrap: {mirror: mirror.invalid}}\nsteps: [{shell: "
       "x}]\n",
       3, 28, "base.bootstrap.mirror 'mirror.invalid' is not an http(s):// or file:// URL"},
      {"steps is a mapping", kHead + "steps: {shell: x}\n", 4, 8,
       "steps must be a list, not a single value or mapping"},
      {"no steps", kHead + "steps: []\n", 4, 8, "the definition has no steps"},
      {"empty step", kHead + "steps:\n  - {}\n", 5, 5, "step 1 is empty"},
      {"step is a string", kHead + "steps:\n  - apt-get install git\n", 5, 5,
       "step 1 must be a mapping, not a single value"},
      {"step without kind", kHead + "steps:\n  - name: lonely\n", 5, 5, "step 1 has no kind"},
      {"step with two kinds", kHead + "steps:\n  - packages: [git]\n    shell: x\n", 5, 5,
       "step 1 has more than one kind (packages, shell)"},
      {"misspelt step kind", kHead + "steps:\n  - pakages: [git]\n", 5, 5,
       "unknown key 'pakages' in step 1", "did you mean 'packages'?"},
      {"empty package list", kHead + "steps:\n  - packages: []\n", 5, 15,
       "step 1 (packages) has an empty package list"},
      {"package item is a mapping", kHead + "steps:\n  - packages: [{git: 1}]\n", 5, 16,
       "each item of step 1 (packages) packages must be a string, not a mapping"},
      {"bad package name", kHead + "steps:\n  - packages: [git, 'Curl!']\n", 5, 21,
       "'Curl!' is not a Debian package name"},
      {"shell with neither run nor script", kHead + "steps:\n  - shell: {}\n", 5, 12,
       "step 1 (shell) needs exactly one of 'run' and 'script'"},
      {"shell with both run and script",
       kHead + "steps:\n  - shell: {run: x, script: files/setup.sh}\n", 5, 12,
       "step 1 (shell) needs exactly one of 'run' and 'script'"},
      {"shell script escapes the folder", kHead + "steps:\n  - shell: {script: ../evil.sh}\n", 5,
       21, "step 1 (shell) script '../evil.sh' is outside the definition's folder"},
      {"shell script missing", kHead + "steps:\n  - shell: {script: files/nope.sh}\n", 5, 21,
       "step 1 (shell) script 'files/nope.sh' does not exist"},
      {"empty inline script", kHead + "steps:\n  - shell: '  '\n", 5, 12,
       "step 1 (shell) has an empty script"},
      {"file without dest", kHead + "steps:\n  - file: {src: files/env.sh}\n", 5, 11,
       "missing required key 'dest' in step 1 (file)"},
      {"file src absolute", kHead + "steps:\n  - file: {src: /etc/passwd, dest: /etc/x}\n", 5, 17,
       "step 1 (file) src '/etc/passwd' is outside the definition's folder"},
      {"file dest relative", kHead + "steps:\n  - file: {src: files/env.sh, dest: etc/x}\n", 5, 37,
       "step 1 (file) dest 'etc/x' must be an absolute path in the image"},
      {"file dest climbs", kHead + "steps:\n  - file: {src: files/env.sh, dest: /etc/../../x}\n", 5,
       37, "step 1 (file) dest '/etc/../../x' must be an absolute path in the image"},
      {"file mode not octal",
       kHead + "steps:\n  - file: {src: files/env.sh, dest: /etc/x, mode: '0999'}\n", 5, 51,
       "step 1 (file) mode '0999' is not an octal permission mode"},
      {"file owner malformed",
       kHead + "steps:\n  - file: {src: files/env.sh, dest: /etc/x, owner: 'a:b:c'}\n", 5, 52,
       "step 1 (file) owner 'a:b:c' is not user or user:group"},
      {"artifact sha256 short",
       kHead + "steps:\n  - artifact: {url: 'https://x.invalid/t', sha256: abc, dest: /t}\n", 5, 52,
       "step 1 (artifact) sha256 'abc' is not 64 lowercase hex digits"},
      {"artifact without sha256",
       kHead + "steps:\n  - artifact: {url: 'https://x.invalid/t', dest: /t}\n", 5, 15,
       "missing required key 'sha256' in step 1 (artifact)"},
      {"artifact ftp url",
       kHead + "steps:\n  - artifact: {url: 'ftp://x.invalid/t', sha256: " + std::string(64, 'a') +
           ", dest: /t}\n",
       5, 21, "step 1 (artifact) url 'ftp://x.invalid/t' uses a scheme kiln cannot fetch"},
      {"artifact s3 url without a key",
       kHead + "steps:\n  - artifact: {url: 's3://bucket', sha256: " + std::string(64, 'a') +
           ", dest: /t}\n",
       5, 21, "step 1 (artifact) url 's3://bucket' is not an S3 object"},
      {"artifact relative file url escapes",
       kHead + "steps:\n  - artifact: {url: 'file:../t.tgz', sha256: " + std::string(64, 'a') +
           ", extract_to: /t}\n",
       5, 21, "step 1 (artifact) url '../t.tgz' is outside the definition's folder"},
      {"artifact with dest and extract_to",
       kHead + "steps:\n  - artifact: {url: 'https://x.invalid/t', sha256: " +
           std::string(64, 'a') + ", dest: /t, extract_to: /u}\n",
       5, 15, "step 1 (artifact) needs exactly one of 'dest' and 'extract_to'"},
      {"artifact mode with extract_to",
       kHead + "steps:\n  - artifact: {url: 'https://x.invalid/t', sha256: " +
           std::string(64, 'a') + ", extract_to: /u, mode: '0755'}\n",
       5, 134, "step 1 (artifact) mode applies only with dest"},
      {"artifact strip_components negative",
       kHead + "steps:\n  - artifact: {url: 'https://x.invalid/t', sha256: " +
           std::string(64, 'a') + ", extract_to: /u, strip_components: -1}\n",
       5, 152, "step 1 (artifact) strip_components must be a whole number from 0, not '-1'"},
      {"duplicate step names", kHead + "steps:\n  - {name: s, shell: x}\n  - {name: s, shell: y}\n",
       6, 5, "step name 's' is used twice (first at line 5)"},
      {"invalid step name", kHead + "steps:\n  - {name: 'My Step', shell: x}\n", 5, 12,
       "step name 'My Step' is not valid"},
      {"duplicate key", kHead + "steps: [{shell: x}]\nname: b\n", 5, 1,
       "key 'name' appears twice in the definition (first at line 1)"},
      {"output not yet available", kHead + "steps: [{shell: x}]\noutputs: [rootfs, oci]\n", 5, 19,
       "output 'oci' is not available in this version of kiln"},
      {"unknown output", kHead + "steps: [{shell: x}]\noutputs: [rootf]\n", 5, 11,
       "unknown output 'rootf'", "did you mean 'rootfs'?"},
      {"empty outputs", kHead + "steps: [{shell: x}]\noutputs: []\n", 5, 10, "outputs is empty"},
      {"a boot test without a disk", kHead + "steps: [{shell: x}]\ntests: [{boot: true}]\n", 5, 1,
       "tests ask for a boot test, but no output is a disk"},
      {"a port test without a disk", kHead + "steps: [{shell: x}]\ntests: [{port: 22}]\n", 5, 9,
       "test 'port 22' needs a booted machine, but no output is a disk"},
      {"a port that is no port",
       kHead + "steps: [{shell: x}]\noutputs: [qcow2]\ntests: [{port: 70000}]\n", 6, 16,
       "tests item 1 port '70000' is not a TCP port"},
      {"a boot time that is no duration",
       kHead + "steps: [{shell: x}]\noutputs: [raw]\ntests: [{boot_time: soon}]\n", 6, 21,
       "tests item 1 boot_time 'soon' is not a duration"},
      {"a boot test in a step", kHead + "steps: [{shell: x, tests: [{boot: true}]}]\n", 4, 28,
       "step 1 tests item 1: boot belongs in the definition's own tests"},
      {"secret with two sources",
       kHead + "secrets: {t: {env: T, file: t.txt}}\nsteps: [{shell: x}]\n", 4, 14,
       "secret 't' needs exactly one of env, file, command"},
      {"secret with an unknown source", kHead + "secrets: {t: {vault: x}}\nsteps: [{shell: x}]\n",
       4, 15, "unknown key 'vault' in secret 't'"},
      {"secret name with capitals", kHead + "secrets: {Token: {env: T}}\nsteps: [{shell: x}]\n", 4,
       11, "secret name 'Token' is not valid"},
      {"secret with an empty source", kHead + "secrets: {t: {env: ''}}\nsteps: [{shell: x}]\n", 4,
       20, "secret 't' env is empty"},
      {"step uses an undeclared secret",
       kHead + "secrets: {token: {env: T}}\nsteps: [{shell: x, secrets: [tokn]}]\n", 5, 30,
       "step 1 uses secret 'tokn', which is not declared", "did you mean 'token'?"},
      {"unknown requirements section", kHead + "requirements: {kernel: {}}\nsteps: [{shell: x}]\n",
       4, 16, "unknown key 'kernel' in requirements"},
      {"user with a misspelt key",
       kHead + "requirements: {users: [{name: azdo, shel: /bin/bash}]}\nsteps: [{shell: x}]\n", 4,
       37, "unknown key 'shel' in requirements.users item 1", "did you mean 'shell'?"},
      {"user name not valid",
       kHead + "requirements: {users: [{name: Azdo}]}\nsteps: [{shell: x}]\n", 4, 31,
       "requirements.users item 1 name 'Azdo' is not valid"},
      {"user shell not absolute",
       kHead + "requirements: {users: [{name: a, shell: bash}]}\nsteps: [{shell: x}]\n", 4, 41,
       "requirements.users item 1 shell 'bash' must be an absolute path in the image"},
      {"authorized key not a key",
       kHead +
           "requirements: {users: [{name: a, authorized_keys: [hello]}]}\nsteps: [{shell: x}]\n",
       4, 52, "requirements.users item 1 has an authorized key that is not an OpenSSH public key"},
      {"user listed twice",
       kHead + "requirements: {users: [{name: a}, {name: a}]}\nsteps: [{shell: x}]\n", 4, 35,
       "requirements.users names 'a' twice"},
      {"group gid not a number",
       kHead + "requirements: {groups: [{name: g, gid: x}]}\nsteps: [{shell: x}]\n", 4, 40,
       "requirements.groups item 1 gid must be a whole number from 0, not 'x'"},
      {"proxy without a scheme",
       kHead + "requirements: {network: {proxy: 'proxy:3128'}}\nsteps: [{shell: x}]\n", 4, 33,
       "'proxy:3128' is not an http(s):// proxy URL"},
      {"dns server not an address",
       kHead + "requirements: {network: {dns: [10.0.0.300]}}\nsteps: [{shell: x}]\n", 4, 32,
       "'10.0.0.300' is not an IP address"},
      {"hosts entry without names",
       kHead + "requirements: {network: {hosts: [{ip: 10.0.0.5}]}}\nsteps: [{shell: x}]\n", 4, 34,
       "missing required key 'names' in requirements.network.hosts item 1"},
      {"ca certificate missing",
       kHead +
           "requirements: {network: {ca_certificates: [files/nope.pem]}}\nsteps: [{shell: x}]\n",
       4, 44, "requirements.network ca_certificates item 'files/nope.pem' does not exist"},
      {"waiver of a rule that does not exist",
       kHead + "requirements: {security: {baseline: cis-level1, waive: [{rule: sshd-root-logon, "
               "reason: x}]}}\nsteps: [{shell: x}]\n",
       4, 64, "security rule 'sshd-root-logon' does not exist", "did you mean 'sshd-root-login'?"},
      {"waiver without a reason",
       kHead + "requirements: {security: {baseline: cis-level1, waive: [{rule: aslr}]}}\n"
               "steps: [{shell: x}]\n",
       4, 57, "missing required key 'reason' in requirements.security.waive item 1"},
      {"unknown baseline",
       kHead + "requirements: {security: {baseline: cis-level9}}\nsteps: [{shell: x}]\n", 4, 37,
       "unknown security baseline 'cis-level9'"},
      {"base neither catalog nor image",
       "name: a\nversion: 1.0.0\nbase: debian:12\nsteps: [{shell: x}]\n", 3, 7,
       "base 'debian:12' is not a base", "catalog:NAME, image:PATH"},
      {"base from an unknown catalog entry",
       "name: a\nversion: 1.0.0\nbase: catalog:debian-12-minimall\nsteps: [{shell: x}]\n", 3, 7,
       "base catalog:debian-12-minimall is not in the catalog",
       "did you mean 'debian-12-minimal'?"},
      {"base image that was never built",
       "name: a\nversion: 1.0.0\nbase: image:out/parent\nsteps: [{shell: x}]\n", 3, 7,
       "base image:out/parent is not a built kiln image"},
      {"storage size too small",
       kHead + "requirements: {storage: {root_size: 10M}}\nsteps: [{shell: x}]\n", 4, 37,
       "requirements.storage root_size '10M' is not a size of 64M or more"},
      {"storage mount with an unknown filesystem",
       kHead + "requirements: {storage: {mounts: [{path: /data, size: 1G, fs: ntfs}]}}\n"
               "steps: [{shell: x}]\n",
       4, 63, "requirements.storage.mounts item 1 fs 'ntfs' is not supported"},
      {"storage mount path not absolute",
       kHead + "requirements: {storage: {mounts: [{path: data, size: 1G}]}}\nsteps: [{shell: x}]\n",
       4, 42,
       "requirements.storage.mounts item 1 path 'data' must be an absolute path in the image"},
      {"domain realm in lower case",
       kHead + "requirements: {domain: {realm: corp.example.com, join_user: svc}}\n"
               "steps: [{shell: x}]\n",
       4, 32, "requirements.domain realm 'corp.example.com' is not a realm name"},
      {"domain without a join user",
       kHead + "requirements: {domain: {realm: CORP.EXAMPLE.COM}}\nsteps: [{shell: x}]\n", 4, 24,
       "missing required key 'join_user' in requirements.domain"},
      {"waivers not a list",
       kHead +
           "requirements: {security: {baseline: cis-level1, waive: aslr}}\nsteps: [{shell: x}]\n",
       4, 56, "requirements.security waive must be a list"},
      {"ansible without playbook", kHead + "steps:\n  - ansible: {tags: [x]}\n", 5, 14,
       "missing required key 'playbook' in step 1 (ansible)"},
      {"ansible playbook missing", kHead + "steps:\n  - ansible: {playbook: ansible/nope.yml}\n", 5,
       25, "step 1 (ansible) playbook 'ansible/nope.yml' does not exist"},
      {"ansible playbook beside the definition",
       kHead + "steps:\n  - ansible: {playbook: play.yml}\n", 5, 25,
       "step 1 (ansible) playbook 'play.yml' is not in a folder of its own", "ansible/site.yml"},
      {"ansible playbook is a folder", kHead + "steps:\n  - ansible: {playbook: ansible/roles}\n",
       5, 25, "step 1 (ansible) playbook 'ansible/roles' is not a file"},
      {"ansible playbook outside", kHead + "steps:\n  - ansible: {playbook: ../site.yml}\n", 5, 25,
       "step 1 (ansible) playbook '../site.yml' is outside the definition's folder"},
      {"ansible roles_path is a file",
       kHead + "steps:\n  - ansible: {playbook: ansible/site.yml, roles_path: play.yml}\n", 5, 55,
       "step 1 (ansible) roles_path 'play.yml' is not a folder"},
      {"ansible extra_vars a list",
       kHead + "steps:\n  - ansible: {playbook: ansible/site.yml, extra_vars: [a]}\n", 5, 55,
       "step 1 (ansible) extra_vars must be a mapping of names"},
      {"ansible extra_vars bad name",
       kHead + "steps:\n  - ansible: {playbook: ansible/site.yml, extra_vars: {agent-pool: x}}\n",
       5, 56, "step 1 (ansible) extra_vars name 'agent-pool' is not a variable name"},
      {"ansible group with a dash",
       kHead + "steps:\n  - ansible: {playbook: ansible/site.yml, group: build-agents}\n", 5, 50,
       "step 1 (ansible) group 'build-agents' is not an inventory group name"},
      {"ansible keep_python not a boolean",
       kHead + "steps:\n  - ansible: {playbook: ansible/site.yml, keep_python: maybe}\n", 5, 56,
       "step 1 (ansible) keep_python must be true or false, not 'maybe'"},
      {"ansible key misspelt",
       kHead + "steps:\n  - ansible: {playbook: ansible/site.yml, extra_var: {a: 1}}\n", 5, 43,
       "unknown key 'extra_var' in step 1 (ansible)", "extra_vars"},
      {"test with an invalid regex",
       kHead + "steps: [{shell: x}]\ntests:\n  - {command: git --version, stdout: 'v(2'}\n", 6, 38,
       "tests item 1 stdout 'v(2' is not a valid regular expression"},
      {"test of an unknown kind", kHead + "steps: [{shell: x}]\ntests:\n  - {socket: 22}\n", 6, 6,
       "unknown key 'socket' in tests item 1"},
      {"test with two kinds",
       kHead + "steps: [{shell: x}]\ntests:\n  - {file: /etc/x, user: azdo}\n", 6, 5,
       "tests item 1 has more than one kind (file, user)"},
      {"test option of another kind",
       kHead + "steps: [{shell: x}]\ntests:\n  - {command: 'true', mode: '0644'}\n", 6, 23,
       "tests item 1 is a command test, which has no 'mode'", "exit_code"},
      {"test timeout not a duration",
       kHead + "steps: [{shell: x}]\ntests:\n  - {command: 'true', timeout: soon}\n", 6, 32,
       "tests item 1 timeout 'soon' is not a duration"},
      {"test version not a constraint",
       kHead + "steps: [{shell: x}]\ntests:\n  - {package: git, version: latest}\n", 6, 29,
       "tests item 1 version 'latest' is not a version constraint"},
      {"test file path relative", kHead + "steps: [{shell: x}]\ntests:\n  - {file: etc/x}\n", 6, 12,
       "tests item 1 file 'etc/x' must be an absolute path in the image"},
      {"test names twice",
       kHead + "steps: [{shell: x}]\ntests:\n  - {group: sudo}\n  - {group: sudo}\n", 7, 5,
       "tests has two tests named 'group sudo'"},
      {"step tests not a list", kHead + "steps:\n  - {shell: x, tests: {group: sudo}}\n", 5, 23,
       "step 1 tests must be a list"},
      {"absent file with a mode",
       kHead + "steps: [{shell: x}]\ntests:\n  - {file: /etc/x, exists: false, mode: '0644'}\n", 6,
       20, "tests item 1 checks an absent file's properties"},
      {"report item without a command", kHead + "steps: [{shell: x}]\nreport:\n  - {name: Git}\n",
       6, 5, "missing required key 'command' in report item 1"},
      {"report names a tool twice",
       kHead + "steps: [{shell: x}]\nreport:\n  - {name: Git, command: git --version}\n"
               "  - {name: Git, command: git version}\n",
       7, 5, "report item 2 names 'Git' a second time"},
      {"secret_env not a boolean",
       kHead +
           "secrets: {token: {env: T}}\nsteps: [{shell: x, secrets: [token], secret_env: yes}]\n",
       5, 50, "step 1 secret_env must be true or false, not 'yes'"},
      {"network of an unknown kind", kHead + "steps: [{shell: x, network: host}]\n", 4, 29,
       "step 1 network 'host' is not known"},
  };
}

// Keeps test names readable in ctest's listing.
void PrintTo(const Malformed& c, std::ostream* out)
{
  *out << c.title;
}

class MalformedDefinition : public SpecLoader, public ::testing::WithParamInterface<Malformed> {};

TEST_P(MalformedDefinition, reports_the_exact_error_and_position)
{
  const Malformed& c = GetParam();
  auto diagnostics = errors(c.yaml);
  ASSERT_EQ(diagnostics.size(), 1u)
      << c.title << ": " << (diagnostics.empty() ? "no error" : diagnostics.back().str());
  const auto& d = diagnostics[0];
  EXPECT_EQ(d.message.substr(0, c.message.size()), c.message) << c.title << ": " << d.str();
  EXPECT_EQ(d.position.line, c.line) << c.title << ": " << d.str();
  EXPECT_EQ(d.position.column, c.column) << c.title << ": " << d.str();
  EXPECT_FALSE(d.hint.empty()) << c.title;
  if (!c.hint_part.empty()) {
    EXPECT_NE(d.hint.find(c.hint_part), std::string::npos) << c.title << ": " << d.hint;
  }
}

std::string case_name(const ::testing::TestParamInfo<Malformed>& info)
{
  std::string name;
  for (char c : std::string(info.param.title))
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedDefinition, ::testing::ValuesIn(malformed_cases()),
                         case_name);

TEST_F(SpecLoader, reports_every_error_at_once)
{
  auto diagnostics = errors("name: A\nversion: 1\nbase: {bootstrap: {}}\nsteps:\n"
                            "  - pakages: [git]\n  - shell: {}\n");
  ASSERT_EQ(diagnostics.size(), 4u);
  EXPECT_EQ(diagnostics[0].position.line, 1);
  EXPECT_EQ(diagnostics[1].position.line, 2);
  EXPECT_EQ(diagnostics[2].position.line, 5);
  EXPECT_EQ(diagnostics[3].position.line, 6);
}

TEST_F(SpecLoader, diagnostic_text_names_file_line_column_and_hint)
{
  auto diagnostics = errors(kHead + "steps:\n  - pakages: [git]\n");
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].str(),
            "image.yaml:5:5: error: unknown key 'pakages' in step 1\n"
            "  hint: did you mean 'packages'? step 1 takes: name, packages, shell, file, artifact, "
            "ansible, secrets, secret_env, network, reboot, tests");
}

TEST_F(SpecLoader, an_ansible_step_and_tests_keep_their_settings)
{
  auto result = load_definition_text(kHead + R"(steps:
  - name: configure
    ansible:
      playbook: ansible/./site.yml
      roles_path: ansible/roles
      extra_vars: {pool: linux, count: 2, ratio: 0.5, debug: false, code: "007", none: ~,
                   hosts: [a, b], proxy: {port: 3128}}
      tags: [agent, motd]
      group: build_agents
      keep_python: true
    tests:
      - {name: motd, file: /etc/motd, contains: '^team \w+', mode: "0644", owner: "root:root"}
tests:
  - {command: tree --version, stdout: '^tree v2', exit_code: 0, timeout: 30s, as: azdo}
  - {package: tree, version: '>= 2.0'}
  - {user: azdo, shell: /bin/bash, groups: [sudo]}
  - {group: sudo}
  - {service: ssh}
  - {file: /etc/nope, exists: false}
)",
                                     "image.yaml", dir_.path());
  ASSERT_TRUE(result.diagnostics.empty()) << result.diagnostics[0].str();
  const auto& step = result.definition->steps.at(0);
  EXPECT_EQ(step.kind(), "ansible");
  const auto& ansible = std::get<kiln::spec::AnsibleStep>(step.body);
  EXPECT_EQ(ansible.playbook, "ansible/site.yml");
  EXPECT_EQ(ansible.folder(), "ansible");
  EXPECT_EQ(ansible.roles_path, "ansible/roles");
  EXPECT_EQ(ansible.extra_vars,
            R"({"code":"007","count":2,"debug":false,"hosts":["a","b"],"none":null,)"
            R"("pool":"linux","proxy":{"port":3128},"ratio":0.5})");
  EXPECT_EQ(ansible.tags, (std::vector<std::string>{"agent", "motd"}));
  EXPECT_EQ(ansible.group, "build_agents");
  EXPECT_TRUE(ansible.keep_python);
  ASSERT_EQ(step.tests.size(), 1u);
  EXPECT_EQ(step.tests[0].name, "motd");
  EXPECT_EQ(step.tests[0].mode, std::optional<mode_t>(0644));
  const auto& tests = result.definition->tests;
  ASSERT_EQ(tests.size(), 6u);
  EXPECT_EQ(tests[0].name, "command tree --version");
  EXPECT_EQ(tests[0].timeout, 30);
  EXPECT_EQ(tests[0].user, "azdo");
  EXPECT_EQ(tests[1].version, ">= 2.0");
  EXPECT_EQ(tests[2].groups, (std::vector<std::string>{"sudo"}));
  EXPECT_EQ(tests[4].kind, "service");
  EXPECT_FALSE(tests[5].exists);
}

TEST_F(SpecLoader, a_link_leading_out_of_the_folder_is_refused)
{
  dir_.symlink("files/passwd", "/etc/passwd");
  auto diagnostics = errors(kHead + "steps:\n  - file: {src: files/passwd, dest: /etc/x}\n");
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(
      diagnostics[0].message,
      "step 1 (file) src 'files/passwd' is a link that leads outside the definition's folder");
}

// "Billion laughs": ten aliases of ten aliases ... expand to 10^9 values. Walking them is bounded,
// so kiln refuses the definition at once instead of running out of memory converting them.
TEST_F(SpecLoader, an_alias_bomb_is_refused_quickly_with_its_position)
{
  std::string yaml = kHead + "steps:\n  - name: play\n    ansible:\n      playbook: play.yml\n"
                             "      extra_vars:\n        l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    yaml += "        l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j)
      yaml += (j ? ", " : "") + prev;
    yaml += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto diagnostics = errors(yaml);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].message, "the document expands to more than 100000 values");
  EXPECT_GE(diagnostics[0].position.line, 9);
  EXPECT_LE(diagnostics[0].position.line, 17);
  EXPECT_LT(seconds, 5.0);
}

TEST(SpecLoaderFile, a_folder_is_named_as_one)
{
  kiln::test::TempDir dir("spec");
  auto result = kiln::spec::load_definition(dir.path());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_NE(result.diagnostics[0].message.find("is a folder, not a file"), std::string::npos);
}

TEST(SpecLoaderFile, a_missing_definition_file_is_reported)
{
  auto result = kiln::spec::load_definition("/nonexistent/image.yaml");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message.rfind("cannot read /nonexistent/image.yaml", 0), 0u);
}

} // namespace

TEST_F(SpecLoader, a_disk_definition_keeps_its_boot_tests)
{
  auto result = load_definition_text(kHead + R"(steps: [{shell: x}]
outputs: [rootfs, raw, qcow2]
tests:
  - boot: true
  - {service: ssh, active: true}
  - {port: 22}
  - {boot_time: 3m}
  - {command: "id -un", as: azdo}
)",
                                     "image.yaml", dir_.path());
  ASSERT_TRUE(result.definition) << (result.diagnostics.empty() ? "" : result.diagnostics[0].str());
  const auto& d = *result.definition;
  EXPECT_TRUE(d.boot_test);
  EXPECT_TRUE(kiln::spec::wants_disk(d));
  ASSERT_EQ(d.tests.size(), 4u); // boot: true is a setting, not a test
  EXPECT_TRUE(d.tests[0].active);
  EXPECT_TRUE(kiln::spec::needs_running_system(d.tests[0]));
  EXPECT_EQ(d.tests[1].kind, "port");
  EXPECT_EQ(d.tests[2].subject, "180");
  EXPECT_FALSE(kiln::spec::needs_running_system(d.tests[3]));
}
