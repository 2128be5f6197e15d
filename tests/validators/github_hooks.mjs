// Node module hooks that let @actions/workflow-parser (an ES module package written for
// bundlers) load on plain Node: its imports leave out the ".js" of relative files and the JSON
// import attribute. Nothing of the parser itself is changed.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith("./") || specifier.startsWith("../");
    if (relative && !specifier.endsWith(".js") && !specifier.endsWith(".json"))
      return nextResolve(specifier + ".js", context);
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (url.endsWith(".json"))
    return nextLoad(url, { ...context, importAttributes: { type: "json" } });
  return nextLoad(url, context);
}
