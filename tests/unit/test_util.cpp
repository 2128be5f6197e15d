// util/: strings, files, hashing, archives and child processes.
#include "sandbox/child_report.hpp"
#include "sandbox/unpack.hpp"
#include "test_support.hpp"
#include "util/archive.hpp"
#include "util/digest_memo.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <clocale>
#include <fcntl.h>
#include <functional>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace kiln::util;

namespace {

TEST(strings, closest_match_suggests_only_likely_typos)
{
  std::vector<std::string_view> keys = {"name", "version", "base", "steps", "outputs"};
  EXPECT_EQ(closest_match("verison", keys), "version");
  EXPECT_EQ(closest_match("step", keys), "steps");
  EXPECT_EQ(closest_match("completely-different", keys), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(strings, shell_quote_shows_arguments_unambiguously)
{
  EXPECT_EQ(shell_quote("plain-word"), "plain-word");
  EXPECT_EQ(shell_quote("two words"), "'two words'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_join({"echo", "a b"}), "echo 'a b'");
}

TEST(strings, formats_durations_and_sizes)
{
  EXPECT_EQ(format_duration(1.25), "1.2s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
}

TEST(fs, lexically_within_rejects_paths_that_climb_out)
{
  EXPECT_TRUE(lexically_within("/defs", "files/a"));
  EXPECT_TRUE(lexically_within("/defs", "files/../a"));
  EXPECT_FALSE(lexically_within("/defs", "../a"));
  EXPECT_FALSE(lexically_within("/defs", "files/../../a"));
  EXPECT_FALSE(lexically_within("/defs", "/etc/passwd"));
  EXPECT_TRUE(lexically_within("/defs/", "/defs/a"));
  EXPECT_FALSE(lexically_within("/defs", "/defs-other/a"));
}

TEST(fs, write_file_atomic_replaces_whole_files)
{
  kiln::test::TempDir dir("fs");
  auto path = dir.path() / "out.json";
  ASSERT_TRUE(write_file_atomic(path, "first", 0600));
  ASSERT_TRUE(write_file_atomic(path, "second"));
  EXPECT_EQ(*read_file(path), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(fs, read_file_names_the_missing_file)
{
  auto missing = read_file("/nonexistent/file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cannot read /nonexistent/file: No such file or directory");
}

TEST(hash, sha256_of_known_inputs)
{
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(hash, a_sparse_file_hashes_as_the_bytes_it_reads_as)
{
  using namespace kiln::util;
  kiln::test::TempDir dir("sparse");
  auto file = dir.path() / "disk.img";
  // A hole at the start, data in the middle, holes between and at the end (past 1 MiB chunks).
  std::string bytes(5 << 20, '\0');
  for (size_t i = (3 << 20) / 2; i < (3 << 20) / 2 + 70000; ++i)
    bytes[i] = static_cast<char>('a' + i % 26);
  bytes[(4 << 20) + 3] = 'z';
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(bytes.size())), 0);
  ASSERT_EQ(::pwrite(fd, bytes.data() + (3 << 20) / 2, 70000, (3 << 20) / 2), 70000);
  ASSERT_EQ(::pwrite(fd, bytes.data() + (4 << 20) + 3, 1, (4 << 20) + 3), 1);
  ::close(fd);
  EXPECT_EQ(*sha256_file(file), sha256_hex(bytes));
  bytes.resize(100);
  ASSERT_TRUE(write_file_atomic(file, bytes)); // no holes at all
  EXPECT_EQ(*sha256_file(file), sha256_hex(bytes));
  ASSERT_TRUE(write_file_atomic(file, ""));
  EXPECT_EQ(*sha256_file(file), sha256_hex(""));
}

TEST(hash, tree_digest_changes_with_content_names_and_modes)
{
  kiln::test::TempDir dir("tree");
  dir.write("t/a", "one");
  dir.write("t/sub/b", "two");
  auto first = *sha256_tree(dir.path() / "t");
  EXPECT_EQ(*sha256_tree(dir.path() / "t"), first);
  dir.write("t/sub/b", "TWO");
  auto changed_content = *sha256_tree(dir.path() / "t");
  EXPECT_NE(changed_content, first);
  ::chmod((dir.path() / "t/a").c_str(), 0755);
  EXPECT_NE(*sha256_tree(dir.path() / "t"), changed_content);
}

// Writes a tar.gz with the given (name, content) entries.
void make_archive(const fs::path& file,
                  const std::vector<std::pair<std::string, std::string>>& entries)
{
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  archive_write_open_filename(a, file.c_str());
  for (const auto& [name, content] : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

TEST(archive, extracts_with_strip_components)
{
  kiln::test::TempDir dir("archive");
  make_archive(dir.path() / "t.tar.gz",
               {{"tool-1.0/bin/tool", "#!/bin/sh\n"}, {"tool-1.0/README", "r"}});
  ASSERT_TRUE(extract_archive(dir.path() / "t.tar.gz", dir.path() / "out", 1));
  EXPECT_EQ(*read_file(dir.path() / "out/bin/tool"), "#!/bin/sh\n");
  EXPECT_EQ(*read_file(dir.path() / "out/README"), "r");
  struct stat st {};
  ::stat((dir.path() / "out/bin/tool").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(archive, refuses_entries_that_climb_out)
{
  kiln::test::TempDir dir("archive");
  make_archive(dir.path() / "evil.tar.gz", {{"../../escaped", "x"}});
  auto result = extract_archive(dir.path() / "evil.tar.gz", dir.path() / "out", 0);
  EXPECT_FALSE(result);
  EXPECT_FALSE(fs::exists(dir.path() / "escaped"));
}

// An archive entry for the hostile cases: a hard link (with or without data) or a symlink.
struct Entry {
  std::string name;
  std::string hardlink; // "" for a regular file
  std::string data;
  std::string symlink = {};
};

void make_links_archive(const fs::path& file, const std::vector<Entry>& entries)
{
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, file.c_str());
  for (const auto& entry : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, entry.name.c_str());
    archive_entry_set_filetype(e, entry.symlink.empty() ? AE_IFREG : AE_IFLNK);
    archive_entry_set_perm(e, 04755);
    if (!entry.hardlink.empty())
      archive_entry_set_hardlink(e, entry.hardlink.c_str());
    if (!entry.symlink.empty())
      archive_entry_set_symlink(e, entry.symlink.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(entry.data.size()));
    archive_write_header(a, e);
    archive_write_data(a, entry.data.data(), entry.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// Each of these once linked or rewrote a file outside the destination (a host file).
TEST(archive, refuses_hard_links_that_leave_the_destination)
{
  kiln::test::TempDir dir("archive");
  dir.write("host/secret", "host-only");
  ::chmod((dir.path() / "host/secret").c_str(), 0600);
  std::string host = (dir.path() / "host/secret").string();
  const std::vector<std::pair<std::string, std::vector<Entry>>> cases = {
      {"absolute target with data", {{"x", host, "overwritten"}}},
      {"absolute target, size 0", {{"x", host, ""}}},
      {"climbing target", {{"x", "../host/secret", "overwritten"}}},
      {"absolute after strip", {{"top/x", "top//" + host.substr(1), "overwritten"}}},
      {"through a symlink", {{"d", "", "", dir.path().string() + "/host"}, {"x", "d/secret", "o"}}},
  };
  for (const auto& [what, entries] : cases) {
    SCOPED_TRACE(what);
    fs::remove_all(dir.path() / "out");
    make_links_archive(dir.path() / "evil.tar", entries);
    int strip = what == "absolute after strip" ? 1 : 0;
    auto result = extract_archive(dir.path() / "evil.tar", dir.path() / "out", strip, true);
    EXPECT_FALSE(result);
    EXPECT_EQ(*read_file(dir.path() / "host/secret"), "host-only");
    struct stat st {};
    ::stat(host.c_str(), &st);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_nlink, 1u) << "the host file was linked into the destination";
  }
}

TEST(archive, keeps_hard_links_inside_the_destination)
{
  kiln::test::TempDir dir("archive");
  make_links_archive(dir.path() / "ok.tar", {{"a/file", "", "same"}, {"a/link", "a/file", ""}});
  ASSERT_TRUE(extract_archive(dir.path() / "ok.tar", dir.path() / "out", 0, true));
  EXPECT_EQ(*read_file(dir.path() / "out/a/link"), "same");
}

TEST(archive, a_file_that_is_no_archive_fails_with_a_hint)
{
  kiln::test::TempDir dir("archive");
  dir.write("plain.txt", "this is not an archive at all");
  auto result = extract_archive(dir.path() / "plain.txt", dir.path() / "out", 0);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().hint.find("tar.gz"), std::string::npos);
  // The archive may be a parent image's rootfs: the hint names the file, not "the artifact".
  EXPECT_NE(result.error().hint.find("plain.txt"), std::string::npos);
  EXPECT_EQ(result.error().hint.find("artifact"), std::string::npos);
}

struct Lines : ProcessObserver {
  std::vector<std::string> lines;
  void on_line(std::string_view line) override { lines.emplace_back(line); }
};

TEST(process, streams_merged_output_line_by_line)
{
  Lines out;
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo one; echo two >&2; printf 'three\\rfour'"};
  auto result = run_process(spec, &out);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success());
  EXPECT_EQ(out.lines, (std::vector<std::string>{"one", "two", "three", "four"}));
}

TEST(process, reports_exit_codes_and_timeouts)
{
  ProcessSpec failing;
  failing.argv = {"/bin/sh", "-c", "exit 3"};
  auto failed = run_process(failing, nullptr);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->exit_code, 3);
  EXPECT_EQ(failed->describe(), "exit code 3");

  ProcessSpec slow;
  slow.argv = {"sleep", "30"};
  slow.timeout_seconds = 0.3;
  auto timed_out = run_process(slow, nullptr);
  ASSERT_TRUE(timed_out);
  EXPECT_TRUE(timed_out->timed_out);
  EXPECT_FALSE(timed_out->success());
}

TEST(process, a_missing_program_is_an_error_naming_it)
{
  ProcessSpec spec;
  spec.argv = {"kiln-no-such-program"};
  auto result = run_process(spec, nullptr);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "cannot run kiln-no-such-program: No such file or directory");
}

TEST(process, failure_in_child_setup_is_reported)
{
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.in_child = [] { return std::string("setup went wrong"); };
  auto result = run_process(spec, nullptr);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "setup went wrong");
}

} // namespace

// The same extraction in a child whose root is the destination (sandbox/unpack.hpp): owners,
// set-user-ID bits and hard links survive, and a refusal comes back with its message and hint.
TEST(confined_archive, keeps_owners_modes_and_links)
{
  kiln::test::TempDir dir("archive");
  make_links_archive(dir.path() / "ok.tar", {{"a/file", "", "same"}, {"a/link", "a/file", ""}});
  Lines quiet;
  ASSERT_TRUE(
      kiln::sandbox::extract_confined(dir.path() / "ok.tar", dir.path() / "out", 0, true, &quiet));
  EXPECT_EQ(*read_file(dir.path() / "out/a/link"), "same");
  struct stat st {};
  ::stat((dir.path() / "out/a/file").c_str(), &st);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_nlink, 2u);
}

// The rootfs writer puts UTF-8 names in pax headers; extracting them must not depend on the
// locale kiln runs in.
TEST(confined_archive, reads_utf8_names_and_links_in_any_locale)
{
  kiln::test::TempDir dir("archive");
  // Written by a child in C.UTF-8, as the tar writer does, so that this process never loads
  // that locale: the extracting child must load it itself, before it loses the host's files.
  pid_t writer = ::fork();
  if (writer == 0) {
    std::setlocale(LC_CTYPE, "C.UTF-8");
    make_links_archive(dir.path() / "utf8.tar", {{"na\xc3\xafve/file", "", "x"},
                                                 {"na\xc3\xafve/link", "na\xc3\xafve/file", ""}});
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(writer, &status, 0);
  Lines quiet;
  auto done =
      kiln::sandbox::extract_confined(dir.path() / "utf8.tar", dir.path() / "out", 0, true, &quiet);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(*read_file(dir.path() / "out/na\xc3\xafve/link"), "x");
}

TEST(confined_archive, reports_a_refusal_with_its_hint)
{
  kiln::test::TempDir dir("archive");
  dir.write("host/secret", "host-only");
  std::string host = (dir.path() / "host/secret").string();
  make_links_archive(dir.path() / "evil.tar", {{"x", host, "overwritten"}});
  Lines quiet;
  auto result =
      kiln::sandbox::extract_confined(dir.path() / "evil.tar", dir.path() / "out", 0, true, &quiet);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, kiln::ExitCode::input);
  EXPECT_NE(result.error().message.find("evil.tar"), std::string::npos);
  EXPECT_NE(result.error().message.find("outside the destination"), std::string::npos);
  EXPECT_NE(result.error().hint.find("relative paths"), std::string::npos);
  EXPECT_EQ(*read_file(dir.path() / "host/secret"), "host-only");
}

// A forked child's result, or its Error with its code, reaches kiln through one channel, however
// much it writes; a child that ends without a report is named.
TEST(child_report, carries_a_result_or_an_error_back_from_a_child)
{
  auto run = [](const std::function<int(const kiln::sandbox::ChildReport&)>& work) {
    auto report = kiln::sandbox::ChildReport::open();
    EXPECT_TRUE(report);
    kiln::util::ProcessSpec spec;
    spec.argv = {"kiln (test child)"};
    spec.child_main = [&] { return work(*report); };
    Lines quiet;
    auto ended = kiln::util::run_process(spec, &quiet);
    return report->receive(ended, "the test child");
  };
  std::string big(1 << 20, 'x'); // larger than a pipe holds
  auto result = run([&](const auto& report) { return report.send({{"big", big}, {"n", 7}}); });
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ((*result)["n"], 7);
  EXPECT_EQ((*result)["big"].get<std::string>().size(), big.size());

  auto failed = run([](const auto& report) {
    return report.fail(kiln::make_error(kiln::ExitCode::environment, "disk full", "free space"));
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, kiln::ExitCode::environment);
  EXPECT_EQ(failed.error().message, "disk full");
  EXPECT_EQ(failed.error().hint, "free space");

  auto silent = run([](const auto&) { return 3; });
  ASSERT_FALSE(silent);
  EXPECT_NE(silent.error().message.find("the test child ended with exit code 3"), std::string::npos)
      << silent.error().message;
  auto mute = run([](const auto&) { return 0; });
  ASSERT_FALSE(mute);
  EXPECT_NE(mute.error().message.find("without saying how it went"), std::string::npos);
}

TEST(confined_archive, a_missing_archive_is_an_input_error)
{
  kiln::test::TempDir dir("archive");
  Lines quiet;
  auto result = kiln::sandbox::extract_confined(dir.path() / "none.tar", dir.path() / "out", 0,
                                                false, &quiet);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, kiln::ExitCode::input);
}

// An unchanged file's digest is taken from the memo; any write (even one that puts the size and
// modification time back) makes kiln hash it again.
TEST(digest_memo, trusts_only_unchanged_files)
{
  kiln::test::TempDir dir("memo");
  fs::path file = dir.write("artifact.bin", "first content");
  {
    kiln::util::DigestMemo memo(dir.path() / "digests.json");
    EXPECT_EQ(*memo.sha256_file(file), *sha256_file(file));
    memo.save();
  }
  kiln::util::DigestMemo memo(dir.path() / "digests.json");
  EXPECT_EQ(*memo.sha256_file(file), *sha256_file(file));
  EXPECT_EQ(memo.hits(), 1u);
  struct stat before {};
  ::stat(file.c_str(), &before);
  dir.write("artifact.bin", "other content"); // the same size
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ::utimensat(AT_FDCWD, file.c_str(), times, 0); // and the same modification time
  EXPECT_EQ(*memo.sha256_file(file), *sha256_file(file));
  EXPECT_EQ(memo.hits(), 1u) << "a rewritten file was taken from the memo";
  EXPECT_FALSE(memo.sha256_file(dir.path() / "missing"));
}
