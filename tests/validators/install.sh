# The validators' own tools: GitHub's workflow parser (@actions/workflow-parser, from the npm
# registry, a pinned version) installed into build/test-tools. Sourced by scripts/test.sh and,
# when it has not run, by the pipeline test:
#   validators_install   exports KILN_TEST_WORKFLOW_PARSER (the folder holding node_modules)
WORKFLOW_PARSER_VERSION=0.3.61

validators_install() {
  local tools=${1:-"$(pwd)/build/test-tools"}
  local package="$tools/node_modules/@actions/workflow-parser/package.json"
  if ! grep -q "\"version\": \"$WORKFLOW_PARSER_VERSION\"" "$package" 2>/dev/null; then
    command -v npm >/dev/null || { echo "validators: npm is not installed" >&2; return 1; }
    echo "setup: installing @actions/workflow-parser $WORKFLOW_PARSER_VERSION into $tools"
    npm install --silent --no-audit --no-fund --prefix "$tools" \
      "@actions/workflow-parser@$WORKFLOW_PARSER_VERSION" >/dev/null || return 1
  fi
  export KILN_TEST_WORKFLOW_PARSER="$tools"
}
