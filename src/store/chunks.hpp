// Files in the store as chunks: a file is split by content (util/chunker), each chunk compressed
// with zstd and kept once as a blob named by the digest of its compressed bytes. A file that
// shares most of its content with one stored before adds only its new chunks.
#pragma once

#include "store/store.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::store {

struct ChunkRef {
  std::string blob;   // sha256 of the stored (compressed) bytes
  std::string sha256; // of the chunk itself
  uint64_t size = 0;  // of the chunk itself
};

struct StoredFile {
  std::string sha256; // of the whole file
  uint64_t size = 0;
  std::vector<ChunkRef> chunks;
  uint64_t new_blobs = 0;      // chunks this call added to the store
  uint64_t new_blob_bytes = 0; // their stored (compressed) size
};

// Stores the file's new chunks; call store.sync() before anything refers to them.
Expected<StoredFile> put_file(Store& store, const std::filesystem::path& file);

// Reassembles a stored file into `dest` (through a temporary name), checking every chunk and the
// whole file; a mismatch fails and names the chunk or the file.
Status get_file(Store& store, const StoredFile& stored, const std::filesystem::path& dest);

nlohmann::json to_json(const StoredFile& file);
StoredFile stored_file_from_json(const nlohmann::json& json);

} // namespace kiln::store
