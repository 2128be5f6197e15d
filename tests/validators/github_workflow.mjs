// Validates GitHub Actions workflow files with GitHub's own parser (@actions/workflow-parser):
// the workflow schema (keys, types, required values) and the expressions and the contexts each
// key may use. Prints FILE:LINE:COL: message per problem; exits 1 when there is one.
//   node --import ./github_register.mjs github_workflow.mjs PARSER_DIR FILE...
// PARSER_DIR is the folder whose node_modules holds @actions/workflow-parser.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [parserDir, ...files] = process.argv.slice(2);
const entry = path.join(parserDir, "node_modules/@actions/workflow-parser/dist/index.js");
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } =
  await import(pathToFileURL(entry).href);

let problems = 0;
for (const name of files) {
  const content = readFileSync(name, "utf8");
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => {
    const at = e.range ? `${e.range.start.line}:${e.range.start.column}` : "1:1";
    return `${name}:${at}: ${e.rawMessage}`;
  });
  if (errors.length === 0 && result.value) {
    const template = await convertWorkflowTemplate(result.context, result.value);
    for (const e of template.errors ?? []) errors.push(`${name}: ${e.Message}`);
    if (errors.length === 0 && template.jobs.length === 0) errors.push(`${name}: no jobs`);
  }
  if (!result.value && errors.length === 0) errors.push(`${name}: not parsed`);
  for (const e of errors) console.log(e);
  if (errors.length === 0) console.log(`${name}: valid`);
  problems += errors.length;
}
process.exit(problems ? 1 : 0);
