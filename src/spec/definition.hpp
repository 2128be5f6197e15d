// The image definition model (format v1), as loaded from YAML by spec/loader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace kiln::spec {

struct Position {
  int line = 0; // 1-based; 0 when unknown
  int column = 0;
};

struct Bootstrap {
  std::string suite = "bookworm";
  std::string variant = "minbase";
  std::string mirror; // empty: mmdebstrap's default mirror
  std::vector<std::string> components = {"main"};
  std::vector<std::string> packages; // extra packages installed by the bootstrap itself
};

// base: {disk: PATH, sha256: HEX}: the disk the VM builder boots (builder: vm).
// A published image a base names: "kiln:NAME@SELECTOR" (a channel, a version or a range) in
// the store the build's settings give. The command pulls it, verified, into the cache before
// the bake and sets the folder the base then reads (DiskBase::path, Base::image).
struct StoreBase {
  std::string ref;      // "NAME@SELECTOR"
  std::string resolved; // "NAME@VERSION (channel prod)", once pulled

  std::string name() const { return ref.substr(0, ref.find('@')); }
};

struct DiskBase {
  std::filesystem::path path;     // a kiln image folder with a disk output, or a disk image file
  std::string sha256;             // required for a file; for a folder, checked against its manifest
  std::optional<StoreBase> store; // disk: kiln:NAME@SELECTOR; `path` is set once it is pulled
};

struct Base {
  Bootstrap bootstrap;         // for a bootstrap base, and for a catalog entry that bootstraps
  std::string catalog;         // "catalog:NAME": the entry's name
  std::filesystem::path image; // "image:PATH": a built kiln image's output folder
  std::optional<StoreBase> image_store; // "kiln:NAME@SELECTOR"; `image` is set once it is pulled
  std::optional<DiskBase> disk;
};

// The published images the definition's base names (at most one), for the command to pull.
std::vector<StoreBase*> store_bases(Base& base);

// How the steps reach the image: in a sandbox on the tree's layers, or over SSH in a booted
// machine (bake/vm_build.hpp).
enum class Builder { tree, vm };

struct PackagesStep {
  std::vector<std::string> packages; // "name" or "name=version"
};

struct ShellStep {
  std::string run;    // inline script, or
  std::string script; // a script file, relative to the definition's folder
};

struct FileStep {
  std::string src;  // relative to the definition's folder; a file or a folder
  std::string dest; // absolute path in the image
  std::optional<mode_t> mode;
  std::string owner; // "user", "user:group" or numeric ids; empty: root:root
};

struct ArtifactStep {
  std::string url;        // https://, http://, file:///abs or file:relative/to/definition
  std::string sha256;     // lowercase hex
  std::string dest;       // single file destination in the image, or
  std::string extract_to; // folder in the image to extract an archive into
  std::optional<mode_t> mode;
  int strip_components = 0;
};

// Runs ansible-playbook on the build host against the image tree (community.general.chroot).
struct AnsibleStep {
  std::string playbook;   // relative to the definition's folder, in a folder of its own
  std::string roles_path; // a folder relative to the definition's; "" : Ansible's default
  std::string extra_vars; // a JSON object, "" for none
  std::vector<std::string> tags;
  std::string group = "kiln"; // the inventory group the image is in
  bool keep_python = false;   // keep the python3 kiln installs for the run

  // The folder the playbook is in: all of it is an input of the step.
  std::string folder() const;
};

using StepBody = std::variant<PackagesStep, ShellStep, FileStep, ArtifactStep, AnsibleStep>;

// A check on the tree: after the last step (the definition's tests:), or right after the step
// that carries it. Tests never change the tree.
struct ImageTest {
  std::string name; // defaults to "<kind> <subject>"
  Position position;
  std::string kind;    // one of kTestKinds
  std::string subject; // the command line, path, package, user, group or systemd unit
  // command: run with sh -c, as `user` (root when empty), stopped after `timeout` seconds
  int exit_code = 0;
  std::string stdout_regex; // searched in the output; "" : not checked
  std::string stderr_regex;
  double timeout = 60;
  std::string user;
  // file
  bool exists = true;
  std::string type; // "", file, directory, link
  std::optional<mode_t> mode;
  std::string owner;         // user or user:group, by name
  std::string content_regex; // searched in the file's content
  // package: installed, and optionally "OP VERSION" (OP one of >=, <=, =, >>, <<)
  std::string version;
  // user
  std::string shell;
  std::vector<std::string> groups; // supplementary groups it must be in
  // group: exists; service: the unit is enabled, and with `active` running in a booted machine
  bool active = false;
  // port: the subject is a TCP port something listens on; boot_time: the subject is the most
  // seconds from power-on to the machine's ready signal. Both need a booted machine.
};

// Kinds and options that only a booted machine can answer (kiln test --boot); a run on the
// tree leaves them out.
bool needs_running_system(const ImageTest& test);

// A tool whose version the software report shows: `command` runs in the finished tree and the
// first version-like word of its output is the version.
struct ReportCommand {
  std::string name;     // "Git"
  std::string command;  // "git --version"
  std::string category; // "Version control"; default "Tools"
  Position position;
};

inline const std::vector<std::string_view> kTestKinds = {
    "command", "file", "package", "user", "group", "service", "port", "boot_time"};

struct Step {
  std::string name; // unique; defaults to "<kind>-<n>"
  Position position;
  StepBody body;
  std::vector<std::string> secrets; // declared secrets this step may read, at /run/secrets/NAME
  bool secret_env = false;          // also as environment variables, named in upper case
  bool offline = false;             // network: none, only a loopback interface
  bool reboot = false;              // builder: vm: the machine reboots after the step
  std::vector<ImageTest> tests;     // run right after this step

  std::string kind() const;
};

struct Group {
  std::string name;
  std::optional<int> gid;
};

struct User {
  std::string name;
  std::optional<int> uid;
  std::string shell;                        // "" : useradd's default
  std::string home;                         // "" : /home/NAME
  std::vector<std::string> groups;          // supplementary; created when missing
  std::string sudo;                         // a sudoers rule for this user, e.g. "ALL=(ALL) ALL"
  std::vector<std::string> authorized_keys; // OpenSSH public keys

  std::string home_dir() const { return home.empty() ? "/home/" + name : home; }
};

struct HostEntry {
  std::string ip;
  std::vector<std::string> names;
};

struct Network {
  std::string proxy;       // http(s) proxy for the shell, apt and services; "" : none
  std::string https_proxy; // "" : the same as proxy
  std::vector<std::string> no_proxy;
  std::vector<std::string> dns;             // name servers for /etc/resolv.conf
  std::vector<std::string> search;          // search domains
  std::vector<HostEntry> hosts;             // static /etc/hosts entries
  std::vector<std::string> ca_certificates; // PEM files next to the definition, to trust
  bool empty() const
  {
    return proxy.empty() && https_proxy.empty() && no_proxy.empty() && dns.empty() &&
           search.empty() && hosts.empty() && ca_certificates.empty();
  }
};

struct MountPoint {
  std::string path;  // where it is mounted in the image
  uint64_t size = 0; // bytes, for the disk outputs
  std::string fs = "ext4";
  std::string label; // the filesystem label /etc/fstab finds it by
};

struct Storage {
  uint64_t root_size = 0; // bytes; 0: as small as the content allows (disk outputs)
  std::vector<MountPoint> mounts;
  bool empty() const { return root_size == 0 && mounts.empty(); }
};

// Active Directory: prepared at bake time, joined at first boot with a credential the deployment
// delivers. Nothing here is secret.
struct Domain {
  std::string realm;                                // CORP.EXAMPLE.COM
  std::string join_user;                            // the account that joins computers
  std::string computer_ou;                          // "" : the realm's default
  std::string credential = "/run/kiln/domain-join"; // where the password is at first boot
  bool empty() const { return realm.empty(); }
};

struct Security {
  std::string baseline;                     // "cis-level1", or "" for none
  std::map<std::string, std::string> waive; // rule id -> reason
};

// requirements: what the image must provide, each turned into real configuration.
struct Requirements {
  std::vector<Group> groups;
  std::vector<User> users;
  Network network;
  Storage storage;
  Security security;
  Domain domain;
  bool empty() const
  {
    return groups.empty() && users.empty() && network.empty() && storage.empty() &&
           security.baseline.empty() && domain.empty();
  }
};

// Where a secret's value comes from, on the build host. The value itself is never part of the
// definition, a log, a layer or an output.
struct SecretSource {
  enum class Kind { env, file, command };
  Kind kind = Kind::env;
  std::string from; // the variable's name, the file's path, or the command line
  Position position;
};

struct Definition {
  std::filesystem::path file; // absolute path of the YAML file
  std::filesystem::path dir;  // its folder: every relative path is resolved against it
  std::string name;
  std::string version;
  Base base;
  Builder builder = Builder::tree;
  std::vector<Step> steps;
  std::vector<std::string> outputs = {"rootfs"};
  std::map<std::string, SecretSource> secrets;
  Requirements requirements;
  std::vector<ImageTest> tests;      // run on the finished tree, after the last step
  bool boot_test = false;            // `- boot: true` in tests: also run them in the booted disk
  std::vector<ReportCommand> report; // tools for the software report
};

// Output formats this version of kiln can write.
inline const std::vector<std::string_view> kSupportedOutputs = {"rootfs", "raw", "qcow2", "vmdk",
                                                                "vhd"};
// The outputs that are bootable disks: asking for one adds kiln's boot layer (bake/boot_layer).
inline const std::vector<std::string_view> kDiskOutputs = {"raw", "qcow2", "vmdk", "vhd"};
bool wants_disk(const Definition& definition);
inline const std::vector<std::string_view> kBootstrapVariants = {
    "extract", "custom", "essential", "apt",         "required",
    "minbase", "buildd", "important", "debootstrap", "standard"};

// Resolves a `file:` artifact URL against the definition's folder; "" for other schemes.
std::filesystem::path local_artifact_path(const Definition& definition, const std::string& url);

// An image name: lowercase letters, digits and '-', at most 63, not starting or ending with '-'.
bool valid_image_name(const std::string& name);

// "NAME@SELECTOR" with a valid image name and a selector of letters, digits and . - ^ ~ * x +
// (a channel, a version or a range); a message saying what is wrong, or "".
std::string check_store_ref(const std::string& ref);

} // namespace kiln::spec
