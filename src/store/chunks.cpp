#include "store/chunks.hpp"

#include "util/chunker.hpp"
#include "util/hash.hpp"
#include "util/zstd.hpp"

#include <fstream>
#include <unistd.h>

namespace kiln::store {

namespace fs = std::filesystem;
using nlohmann::json;

Expected<StoredFile> put_file(Store& store, const fs::path& file)
{
  StoredFile stored;
  util::Sha256 whole; // in the same pass as the chunks: the file is read once
  Status chunked = util::chunk_file(file, [&](std::string_view chunk) -> Status {
    whole.update(chunk);
    std::string compressed = util::zstd_compress(chunk);
    ChunkRef ref{util::sha256_hex(compressed), util::sha256_hex(chunk), chunk.size()};
    auto present = store.has_blob(ref.blob);
    if (!present)
      return std::move(present).error();
    if (!*present) {
      KILN_TRY(store.put_blob(ref.blob, compressed));
      ++stored.new_blobs;
      stored.new_blob_bytes += compressed.size();
    }
    stored.size += chunk.size();
    stored.chunks.push_back(std::move(ref));
    return ok_status();
  });
  if (!chunked)
    return std::move(chunked).error();
  stored.sha256 = whole.hex_digest();
  return stored;
}

Status get_file(Store& store, const StoredFile& stored, const fs::path& dest)
{
  fs::path temporary = dest.string() + ".partial-" + std::to_string(::getpid());
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out)
    return make_error(ExitCode::environment, "cannot write " + temporary.string());
  auto fail = [&](Error error) -> Status {
    out.close();
    std::error_code ec;
    fs::remove(temporary, ec);
    return error;
  };
  util::Sha256 whole;
  for (size_t i = 0; i < stored.chunks.size(); ++i) {
    const ChunkRef& ref = stored.chunks[i];
    std::string where = "chunk " + std::to_string(i + 1) + " of " + dest.filename().string() +
                        " (blob " + ref.blob + ")";
    auto blob = store.get_blob(ref.blob);
    if (!blob)
      return fail(make_error(ExitCode::input, where + " is missing: " + blob.error().message));
    if (util::sha256_hex(*blob) != ref.blob)
      return fail(make_error(ExitCode::input, where + " is damaged: its digest does not match"));
    auto chunk = util::zstd_decompress(*blob, ref.size);
    if (!chunk)
      return fail(make_error(ExitCode::input, where + " is damaged: " + chunk.error().message));
    if (util::sha256_hex(*chunk) != ref.sha256)
      return fail(make_error(ExitCode::input, where + " does not hold the chunk it should"));
    whole.update(*chunk);
    out.write(chunk->data(), static_cast<std::streamsize>(chunk->size()));
  }
  out.close();
  if (!out)
    return fail(make_error(ExitCode::environment, "cannot write " + temporary.string()));
  if (whole.hex_digest() != stored.sha256)
    return fail(make_error(ExitCode::input,
                           dest.filename().string() + " reassembled does not match its sha256"));
  std::error_code ec;
  fs::rename(temporary, dest, ec);
  if (ec)
    return fail(make_error(ExitCode::environment,
                           "cannot rename " + temporary.string() + ": " + ec.message()));
  return ok_status();
}

json to_json(const StoredFile& file)
{
  json chunks = json::array();
  for (const auto& c : file.chunks)
    chunks.push_back({c.blob, c.sha256, c.size});
  return {{"sha256", file.sha256}, {"size", file.size}, {"chunks", chunks}};
}

StoredFile stored_file_from_json(const json& j)
{
  StoredFile file;
  file.sha256 = j.at("sha256");
  file.size = j.at("size");
  for (const auto& c : j.at("chunks"))
    file.chunks.push_back({c.at(0), c.at(1), c.at(2)});
  return file;
}

} // namespace kiln::store
