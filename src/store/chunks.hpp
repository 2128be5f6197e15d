// Files in the store as chunks: a file is split by content (util/chunker), and each chunk is kept
// once, zstd-compressed, as a blob named by the sha256 of the chunk itself. A file that shares most
// of its content with one stored before adds only its new chunks. Chunks are compressed and
// written on worker threads while the file is read and split.
//
// A zstd-compressed file (a rootfs.tar.zst) is stored by its content: the chunks hold the tar, so
// two versions of an image share what their tars share, and get_file compresses it again the way
// kiln's export writes it, checking that the result is the published file byte for byte.
#pragma once

#include "store/store.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::store {

// raw: chunks of the file. zstd: chunks of its decompressed content, compressed again on the way
// out. frames: a .zst made of one frame per chunk (util/framed_zstd.hpp, kiln's own exports),
// whose frames are blobs as they are, named by the sha256 of their bytes; put_file(zstd) stores
// such a file this way, and get_file writes the frames back, with nothing to compress.
enum class Encoding { raw, zstd, frames };

struct ChunkRef {
  std::string digest; // sha256 of the chunk (of a frame's bytes, for frames): the blob's name
  uint64_t size = 0;  // of the chunk
};

struct StoredFile {
  Encoding encoding = Encoding::raw;
  std::string sha256; // of the file itself
  uint64_t size = 0;
  std::string content_sha256; // of what the chunks hold: the file, or its decompressed content
  uint64_t content_size = 0;
  std::vector<ChunkRef> chunks;
  uint64_t new_blobs = 0;      // chunks this call added to the store
  uint64_t new_blob_bytes = 0; // their stored (compressed) size
};

// Stores the file's new chunks; call store.sync() before anything refers to them.
Expected<StoredFile> put_file(Store& store, const std::filesystem::path& file,
                              Encoding encoding = Encoding::raw);

// Reassembles a stored file into `dest` (through a temporary name), checking every chunk and the
// whole file; a mismatch fails and names the chunk or the file.
Status get_file(Store& store, const StoredFile& stored, const std::filesystem::path& dest);

// Everything get_file checks, without writing the file anywhere; `name` names it in messages.
Status check_file(Store& store, const StoredFile& stored, const std::string& name);

// Checks that a stored blob is a whole zstd frame whose content has the blob's digest.
Status check_blob(Store& store, const std::string& digest);

nlohmann::json to_json(const StoredFile& file);
Expected<StoredFile> stored_file_from_json(const nlohmann::json& json);

} // namespace kiln::store
