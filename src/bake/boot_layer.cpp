#include "bake/boot_layer.hpp"

namespace kiln::bake {

namespace {

// The packages the layer installs besides the kernel. systemd-boot-efi brings the boot loader
// the disk exporter places on the EFI system partition; cloud-guest-utils brings growpart;
// ifupdown and the DHCP client are what cloud-init configures the network with (its fallback
// is DHCP on the first interface, locally as in EC2); sudo is what cloud-init's users (EC2's
// default user, the boot test's) are given root with.
const std::vector<std::string> kBootPackages = {
    "systemd-sysv",    "cloud-init",        "openssh-server",   "ifupdown",
    "isc-dhcp-client", "cloud-guest-utils", "systemd-boot-efi", "sudo"};

// Run in the image after the packages. Every line that mounts / or /boot/efi is replaced by
// kiln's (other mounts, e.g. requirements.storage's, stay); cloud-init gets its data sources.
const char* kConfigure = R"sh(
fstab=/etc/fstab
touch "$fstab"
awk '$1 !~ /^#/ && ($2 == "/" || $2 == "/boot/efi") { next } { print }' "$fstab" > "$fstab.kiln"
{
  echo "# / and /boot/efi: written by kiln for its disk outputs"
  echo "LABEL=$1 / ext4 defaults,errors=remount-ro 0 1"
  echo "LABEL=$2 /boot/efi vfat umask=0077,nofail 0 2"
  cat "$fstab.kiln"
} > "$fstab"
rm "$fstab.kiln"
mkdir -p /boot/efi /etc/cloud/cloud.cfg.d
cat > /etc/cloud/cloud.cfg.d/90-kiln-disk.cfg <<'CFG'
# Written by kiln: the same disk boots locally (NoCloud) and imported into AWS (EC2).
datasource_list: [NoCloud, Ec2, None]
growpart:
  mode: auto
  devices: ['/']
resize_rootfs: true
# C.UTF-8 is always there; cloud-init would otherwise set en_US.UTF-8, which minimal images lack.
locale: C.UTF-8
ssh_deletekeys: true
ssh_genkeytypes: [rsa, ecdsa, ed25519]
CFG
ls /boot/vmlinuz-* > /dev/null
ls /boot/initrd.img-* > /dev/null
test -f /usr/lib/systemd/boot/efi/systemd-bootx64.efi
)sh";

} // namespace

Expected<std::string> kernel_package_for(const std::string& machine)
{
  if (machine == "x86_64")
    return std::string("linux-image-cloud-amd64");
  if (machine == "aarch64")
    return std::string("linux-image-cloud-arm64");
  return make_error(ExitCode::invalid_definition,
                    "kiln knows no Debian cloud kernel for the machine '" + machine + "'",
                    "install a kernel (linux-image-...) in a step of the definition");
}

nlohmann::json boot_layer_inputs(const std::string& machine)
{
  auto kernel = kernel_package_for(machine);
  return {{"kernel", kernel ? *kernel : std::string()},
          {"packages", kBootPackages},
          {"configure", kConfigure},
          {"root_label", kRootLabel},
          {"esp_label", kEspLabel}};
}

Status apply_boot_layer(const StepContext& context, const std::string& machine, StepLog& log)
{
  auto has_kernel =
      exit_code_in_image(context, {"/bin/sh", "-c", "ls /boot/vmlinuz-* >/dev/null 2>&1"}, log);
  if (!has_kernel)
    return std::move(has_kernel).error();
  std::vector<std::string> packages = kBootPackages;
  if (*has_kernel != 0) {
    auto kernel = kernel_package_for(machine);
    if (!kernel)
      return std::move(kernel).error();
    log.note("the image has no kernel: kiln adds " + *kernel + " for its disk outputs");
    packages.insert(packages.begin(), *kernel);
  } else {
    log.note("the image has a kernel: kiln keeps it");
  }
  std::string list;
  for (const auto& p : packages)
    list += (list.empty() ? "" : ", ") + p;
  log.note("kiln's boot layer installs " + list);
  Status installed = install_packages(packages, context, log);
  if (!installed) {
    const Error& cause = installed.error();
    Error error =
        make_error(cause.code, "kiln's boot layer could not install " + list + ": " + cause.message,
                   "check that the image's apt sources carry these packages for this "
                   "architecture, or install a kernel in a step");
    error.detail = cause.detail;
    return error;
  }
  return run_in_image(
      context, {"/bin/sh", "-eu", "-c", kConfigure, "kiln-boot", kRootLabel, kEspLabel}, log);
}

} // namespace kiln::bake
