#include "cli/commands.hpp"
#include "spec/catalog.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::cli {

Command add_catalog(CLI::App& app)
{
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("catalog", "List the approved base images");
  sub->require_subcommand(1);
  auto* ls = sub->add_subcommand("ls", "List the catalog's entries");
  ls->add_flag("--json", *json, "Print the entries as JSON");
  sub->footer(R"(A definition names an entry as base: catalog:NAME. Add your own entries in
$KILN_CATALOG or /etc/kiln/catalog.yaml:
  images:
    - name: corp-debian-12
      description: Debian 12 from the corporate mirror
      bootstrap: {mirror: http://mirror.corp/debian, packages: [ca-certificates]}
      security_baseline: cis-level1

Example:
  kiln catalog ls)");
  return {sub, [json] {
            auto settings = load_settings();
            if (!settings)
              return report(settings.error());
            auto entries = spec::catalog(settings->catalog);
            if (!entries)
              return report(entries.error());
            nlohmann::json out = nlohmann::json::array();
            for (const auto& e : *entries) {
              out.push_back({{"name", e.name},
                             {"description", e.description},
                             {"suite", e.bootstrap.suite},
                             {"variant", e.bootstrap.variant},
                             {"security_baseline", e.security_baseline},
                             {"source", e.source}});
              if (!*json)
                std::printf("%-22s %s  [%s]\n", e.name.c_str(), e.description.c_str(),
                            e.source.c_str());
            }
            if (*json)
              std::printf("%s\n", out.dump(2).c_str());
            return 0;
          }};
}

} // namespace kiln::cli
