// The VM builder's part of a definition: `builder:`, `base: {disk: ..., sha256: ...}`, and the
// rules that tie them together (a disk base needs builder: vm; reboot: only there).
#pragma once

#include "spec/definition.hpp"
#include "spec/validator.hpp"

namespace kiln::spec {

// base: {disk: PATH, sha256: HEX}, from the base mapping's fields.
void load_disk_base(Validator& v, const Entries& base, Definition& def);

// builder: tree|vm, then the checks between the builder, the base and the steps.
void load_builder(Validator& v, const Entries& top, Definition& def);

} // namespace kiln::spec
