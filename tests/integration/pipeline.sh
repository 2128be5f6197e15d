#!/usr/bin/env bash
# kiln pipeline init: the Azure Pipelines and GitHub Actions files it writes pass their
# validators (GitHub's own workflow parser; for Azure, the documented schema structure, as no
# offline validator exists), say what they must (kiln ci, test results, artifacts, credentials
# from a group or OIDC, environments per channel, the kiln version), and the bad inputs: no
# flag, no kiln.yaml, a name that cannot go into YAML, files that exist.
. "$(dirname "$0")/lib.sh"
VALIDATORS="$SOURCE_DIR/tests/validators"

if [ -z "${KILN_TEST_WORKFLOW_PARSER:-}" ]; then
  . "$VALIDATORS/install.sh"
  validators_install "$SOURCE_DIR/build/test-tools" >&2 ||
    skip "GitHub's workflow parser cannot be installed (no npm, or the npm registry does not answer)"
fi
github_check() { # FILE... (the parser runs from its own folder: the files as absolute paths)
  local files
  files=$(realpath "$@") || return 2
  # shellcheck disable=SC2086
  (cd "$VALIDATORS" && node --import ./github_register.mjs github_workflow.mjs \
    "$KILN_TEST_WORKFLOW_PARSER" $files)
}
azure_check() { python3 "$VALIDATORS/azure_pipeline.py" "$@"; }

REPO="$WORK/repo"
mkdir -p "$REPO/images/agent" "$REPO/images/builder"
for name in agent builder; do
  printf 'name: %s\nversion: 1.0.0\nbase: {bootstrap: {variant: minbase}}\n%s\n' "$name" \
    "steps: [{name: hello, shell: 'echo hello'}]" >"$REPO/images/$name/image.yaml"
done
cat >"$REPO/kiln.yaml" <<'YAML'
store: s3://agent-images/kiln
channels: [{name: dev}, {name: staging}, {name: prod}]
YAML
cd "$REPO"
VERSION=$("$KILN" --version)

step "no platform chosen, no kiln.yaml: usage errors"
expect_exit 2 -- "$KILN" pipeline init
expect_in "$WORK/err" "--azure, or --github"
expect_exit 2 -- "$KILN" pipeline init --azure --dir "$WORK"
expect_in "$WORK/err" "no kiln.yaml in $WORK"
expect_exit 2 -- "$KILN" pipeline init --azure --agents 'kiln; curl evil'
expect_in "$WORK/err" "the agents' name 'kiln; curl evil' cannot be written"
[ ! -e azure-pipelines ] || fail "a refused init wrote files"

step "--azure --github writes the four files"
"$KILN" pipeline init --azure --github --json >"$WORK/init.json"
python3 - "$WORK/init.json" "$VERSION" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["files"] == ["azure-pipelines/build-images.yml", "azure-pipelines/deploy-images.yml",
                      ".github/workflows/build-images.yml", ".github/workflows/deploy-images.yml"], d
assert d["images"] == ["agent", "builder"] and d["channels"] == ["dev", "staging", "prod"], d
assert d["kiln_version"] == sys.argv[2], d
PY

step "the Azure files pass the structure check, the GitHub files GitHub's parser"
azure_check azure-pipelines/*.yml >"$WORK/azure.out" || { cat "$WORK/azure.out"; fail "Azure"; }
github_check .github/workflows/*.yml >"$WORK/github.out" || { cat "$WORK/github.out"; fail "GitHub"; }
cat "$WORK/azure.out" "$WORK/github.out"

step "they say what they must"
B=azure-pipelines/build-images.yml D=azure-pipelines/deploy-images.yml
GB=.github/workflows/build-images.yml GD=.github/workflows/deploy-images.yml
for file in $GB $GD; do expect_in "$file" "KILN_VERSION: '$VERSION'"; done
for file in $B $D; do expect_in "$file" "value: '$VERSION'"; done
for file in $B $D $GB $GD; do
  expect_in "$file" "kiln $VERSION"
  expect_not_in "$file" "BEGIN PRIVATE"
  expect_not_in "$file" "AKIA"
done
expect_in $B "include: ['*']"
expect_in $B "fetchDepth: 0"
expect_in $B "script: kiln ci"
expect_in $B "task: PublishTestResults@2"
expect_in $B "testResultsFiles: '*/tests/junit.xml'"
expect_in $B "*/report.html"
expect_in $B "*/sbom.cdx.json"
expect_in $B "group: kiln-store"
expect_in $B "task: DownloadSecureFile@1"
expect_in $D "trigger: none"
expect_in $D "values: [agent, builder]"
expect_in $D "values: [dev, staging, prod]"
expect_in $D "environment: kiln-\${{ parameters.channel }}"
expect_in $D "kiln verify"
expect_in $D "kiln pull"
expect_in $D "no kiln deploy yet"
expect_in $D "kiln-staging and kiln-prod"
expect_in $GB "id-token: write"
expect_in $GB "fetch-depth: 0"
expect_in $GB "run: kiln ci"
expect_in $GB "secrets.KILN_SIGNING_KEY"
expect_in $GD "options: [dev, staging, prod]"
expect_in $GD "environment: kiln-\${{ inputs.channel || 'prod' }}"
expect_in $GD "required reviewers"
expect_in $GD "no kiln deploy yet"

step "the validators find a broken file (they can fail)"
sed 's/testResultsFiles:/testResultFiles:/; s/- stage: images/- stag: images/' $B >"$WORK/bad-azure.yml"
code=0; azure_check "$WORK/bad-azure.yml" >"$WORK/bad-azure.out" || code=$?
[ "$code" = 1 ] || { cat "$WORK/bad-azure.out"; fail "the Azure check passed a broken file"; }
expect_in "$WORK/bad-azure.out" "needs the input 'testResultsFiles'"
expect_in "$WORK/bad-azure.out" "unexpected key 'stag'"
sed 's/\${{ parameters.channel }}/${{ parameters.chanel }}/' $D >"$WORK/bad-deploy.yml"
code=0; azure_check "$WORK/bad-deploy.yml" >"$WORK/bad-deploy.out" || code=$?
[ "$code" = 1 ] || { cat "$WORK/bad-deploy.out"; fail "the Azure check passed an undeclared parameter"; }
expect_in "$WORK/bad-deploy.out" "parameters.chanel is not declared"
mkdir -p "$WORK/gh"
sed 's/fetch-depth: 0/fetch-depth: 0\n          fetch-everything: true/; s/runs-on:/runs_on:/' $GB \
  >"$WORK/gh/bad.yml"
code=0; github_check "$WORK/gh/bad.yml" >"$WORK/bad-github.out" || code=$?
[ "$code" = 1 ] || { cat "$WORK/bad-github.out"; fail "GitHub's parser passed a broken file"; }
expect_in "$WORK/bad-github.out" "runs_on"
sed 's/\${{ inputs.channel/${{ secrets.channel/' $GD >"$WORK/gh/bad-context.yml"
code=0; github_check "$WORK/gh/bad-context.yml" >"$WORK/bad-context.out" || code=$?
[ "$code" = 1 ] || { cat "$WORK/bad-context.out"; fail "GitHub's parser passed a bad context"; }
expect_in "$WORK/bad-context.out" "Unrecognized named-value: 'secrets'"

step "files that exist are kept, unless --force"
echo "# my edit" >>$B
expect_exit 2 -- "$KILN" pipeline init --azure
expect_in "$WORK/err" "azure-pipelines/build-images.yml exists"
expect_in $B "# my edit"
"$KILN" pipeline init --azure --force --agents image-builders >/dev/null
expect_not_in $B "# my edit"
expect_in $B "name: image-builders"
azure_check $B >/dev/null || fail "the file written with --agents does not pass"

step "a repository without images has nothing to deploy"
mkdir -p "$WORK/empty" && printf 'store: %s\n' "$WORK/store" >"$WORK/empty/kiln.yaml"
expect_exit 2 -- "$KILN" pipeline init --github --dir "$WORK/empty"
expect_in "$WORK/err" "no image to deploy"
echo "PASS"
