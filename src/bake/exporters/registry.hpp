// The output kinds kiln has an exporter for, by the name `outputs:` uses.
#pragma once

#include "bake/exporters/exporter.hpp"

#include <memory>
#include <string>
#include <vector>

namespace kiln::bake {

// The exporters for the definition's `outputs:`, in its order.
Expected<std::vector<std::unique_ptr<Exporter>>> exporters_for(const spec::Definition& definition);

// What the exporters add to the export cache key: "NAME:SETTINGS" each, in order.
std::vector<std::string> export_key_parts(const std::vector<std::unique_ptr<Exporter>>& exporters);

// Every file any exporter writes, relative to OUT: what a new bake clears from OUT.
std::vector<std::string> all_output_files();

// The output kinds kiln has an exporter for.
std::vector<std::string> exporter_names();

} // namespace kiln::bake
