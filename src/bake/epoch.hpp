// Whose time a bake clamps file times to.
#pragma once

#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace kiln::bake {

// The time a bake clamps file times to (SOURCE_DATE_EPOCH).
//
// Given (--source-date-epoch, or SOURCE_DATE_EPOCH in the environment), it is used as it is.
// Otherwise an image takes the epoch of its base layer, kept in the layer's meta.json. A base
// layer built now takes base_epoch_of: the time of the oldest commit, in the run of commits up to
// HEAD, whose `base:` is the one the definition has now (the commit that last changed the base),
// else the file's modification time outside git. So a new commit that does not touch the base
// exports every unchanged file with the same time, whether the base comes from the cache or is
// built again on an empty one, and its version shares those bytes with the last one; two clean
// bakes of one commit still give the same bytes.
Expected<std::optional<int64_t>> given_source_date_epoch(std::optional<int64_t> flag);
inline constexpr size_t kMaxBaseHistory = 500; // commits of the definition looked at
int64_t base_epoch_of(const spec::Definition& definition);

} // namespace kiln::bake
