#include "bake/decision.hpp"

#include "bake/cache_layout.hpp"
#include "bake/inputs.hpp"
#include "bake/plan.hpp"
#include "bake/secrets.hpp"
#include "bake/step_log.hpp"
#include "util/strings.hpp"

#include <ctime>
#include <map>

namespace kiln::bake {

Expected<std::optional<size_t>> refresh_from(const spec::Definition& def, const BuildOptions& o)
{
  if (!o.refresh)
    return std::optional<size_t>();
  if (o.refresh->empty() || *o.refresh == "all" || *o.refresh == "base")
    return std::optional<size_t>(0);
  std::vector<std::string> names;
  for (size_t i = 0; i < def.steps.size(); ++i) {
    if (def.steps[i].name == *o.refresh) // builder: vm: every step is in the first layer
      return std::optional<size_t>(def.builder == spec::Builder::vm ? 0
                                                                    : first_step_layer(def) + i);
    names.push_back(def.steps[i].name);
  }
  return make_error(ExitCode::usage, "--refresh names no step: '" + *o.refresh + "'",
                    "give all, base or one of: " + util::join(names, ", "));
}

size_t first_private_layer(const spec::Definition& def, const SharedCacheOptions& shared)
{
  if (!shared.secret_key.empty())
    return SIZE_MAX;
  for (size_t i = 0; i < def.steps.size(); ++i) {
    if (!def.steps[i].secrets.empty()) // builder: vm: every step is in the layer after the base
      return def.builder == spec::Builder::vm ? 1 : first_step_layer(def) + i;
  }
  return SIZE_MAX;
}

Expected<std::string> secrets_key(LayerCache& cache, const SharedCacheOptions& shared)
{
  if (!shared.secret_key.empty())
    return read_shared_secret_key(shared.secret_key);
  return cache.hmac_key();
}

namespace {

std::string too_old(int64_t max_age)
{
  return "older than the maximum age (" + util::format_duration(static_cast<double>(max_age)) +
         "); package lists may be stale";
}

int64_t age_of(int64_t created)
{
  return static_cast<int64_t>(std::time(nullptr)) - created;
}

} // namespace

Decision decide(LayerCache& cache, const Sources& sources, const LayerSpec& spec, size_t index,
                const std::string& parent, const std::string& image, std::optional<size_t> refresh,
                int64_t max_age)
{
  Decision d;
  d.key = layer_key(spec, parent);
  if (refresh && index >= *refresh) {
    d.why = "--refresh";
    return d;
  }
  std::string problem;
  d.layer = cache.find(d.key, &problem);
  if (d.layer && spec.expires && age_of(d.layer->created) > max_age) {
    d.why = too_old(max_age);
    d.layer.reset();
  } else if (!d.layer) {
    d.why =
        problem.empty() ? explain_miss(spec, parent, cache.previous(image, spec.step)) : problem;
  }
  if (d.layer || !sources.remote || !sources.remote->reads() || index >= sources.first_private)
    return d;
  d.remote = sources.remote->find(d.key, &d.remote_problem);
  if (d.remote && spec.expires && age_of(d.remote->created) > max_age) {
    d.remote_problem = "the shared cache's layer is " + too_old(max_age);
    d.remote.reset();
  }
  return d;
}

namespace {
struct NullObserver : BuildObserver {};
} // namespace

Expected<std::vector<LayerExplanation>> explain(const spec::Definition& definition,
                                                const BuildOptions& options)
{
  auto cache = LayerCache::open(options.cache_dir);
  if (!cache)
    return std::move(cache).error();
  Sources sources;
  std::unique_ptr<RemoteCache> remote;
  if (!options.shared.from.empty()) {
    SharedCacheOptions reading = options.shared;
    reading.to.clear(); // --explain uploads nothing
    auto opened =
        RemoteCache::open(reading, options.remote, cache::scratch(cache->dir(), "explain"));
    if (!opened)
      return std::move(opened).error();
    remote = std::move(*opened);
    if (!remote->problems().empty())
      return make_error(ExitCode::environment, remote->problems().front());
    sources.remote = remote.get();
    sources.first_private = first_private_layer(definition, options.shared);
  }
  auto refresh = refresh_from(definition, options);
  if (!refresh)
    return std::move(refresh).error();
  NullObserver quiet;
  StepLog log("/dev/null", quiet);
  auto inputs = resolve_inputs(definition, *cache, false, log);
  if (!inputs)
    return std::move(inputs).error();
  std::map<std::string, std::string> unresolved;
  if (!definition.secrets.empty()) {
    auto secrets = resolve_secrets(definition, &unresolved);
    if (!secrets)
      return std::move(secrets).error();
    auto key = secrets_key(*cache, options.shared);
    if (!key)
      return std::move(key).error();
    inputs->secret_hmacs = secret_hmacs(*secrets, *key);
  }
  auto specs = layer_specs(definition, *inputs);
  std::vector<LayerExplanation> report;
  std::string parent;
  bool known = true;
  std::string needs_secret; // the first unreadable secret a layer below needs
  for (size_t i = 0; i < specs.size(); ++i) {
    LayerExplanation line{specs[i].step, specs[i].kind, "", false, false, false, ""};
    size_t first = first_step_layer(definition);
    if (needs_secret.empty() && definition.builder == spec::Builder::tree && i >= first &&
        i - first < definition.steps.size()) {
      for (const auto& name : definition.steps[i - first].secrets) {
        if (auto it = unresolved.find(name); it != unresolved.end()) {
          needs_secret = name;
          line.why = "needs secret '" + name + "', which cannot be read here (" + it->second + ")";
        }
      }
    }
    if (!needs_secret.empty()) {
      line.unknown = true;
      if (line.why.empty())
        line.why = "a layer below it needs secret '" + needs_secret + "'";
    } else if (!known) {
      line.why = "a layer below it will be rebuilt";
    } else {
      Decision d =
          decide(*cache, sources, specs[i], i, parent, definition.name, *refresh, options.max_age);
      line.key = d.key;
      line.hit = d.layer.has_value();
      line.remote = d.remote.has_value();
      line.why = d.remote                   ? "in the shared cache " + options.shared.from
                 : d.remote_problem.empty() ? d.why
                                            : d.why + "; " + d.remote_problem;
      if (!line.hit && !line.remote && sources.remote && i >= sources.first_private)
        line.why += "; not shared: a step at or below it uses a secret, and no cache.secret_key "
                    "is set";
      if (d.layer)
        parent = d.layer->digest;
      else if (d.remote)
        parent = d.remote->digest;
      known = line.hit || line.remote;
    }
    report.push_back(std::move(line));
  }
  return report;
}

} // namespace kiln::bake
