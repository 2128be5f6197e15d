#!/usr/bin/env bash
# Secrets: readable during their step only, hidden in every log, never in the image, the cache or
# OUT; a step that leaks one into the image fails and names the file; one that cannot be resolved
# fails before anything runs; a changed value rebuilds the steps that use it.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

DEF="$WORK/def"
mkdir -p "$DEF"
TOKEN="tok-$RANDOM-$RANDOM-secret"
FILE_VALUE="file-$RANDOM-value"
CMD_VALUE="cmd-$RANDOM-value"
printf '%s\n' "$FILE_VALUE" >"$DEF/secret.txt"
export KILN_IT_TOKEN="$TOKEN"

write_image() { # write_image EXTRA_STEP_YAML
  cat >"$DEF/image.yaml" <<YAML
name: secrets-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
secrets:
  token: {env: KILN_IT_TOKEN}
  from_file: {file: secret.txt}
  from_cmd: {command: "printf $CMD_VALUE"}
steps:
  - name: use
    secrets: [token, from_file, from_cmd]
    secret_env: true
    shell: |
      test "\$(cat /run/secrets/token)" = "\$TOKEN"
      echo "raw \$(cat /run/secrets/token)"
      echo "base64 \$(base64 /run/secrets/from_file)"
      echo "url \$(cat /run/secrets/from_cmd)"
      echo "private to the step" > /tmp/derived-\$(cat /run/secrets/token)
  - name: after
    shell: 'test ! -e /run/secrets/token && echo "secrets gone after their step"'
$1
YAML
}

# no_value_in DIR...: none of the three values, in any form kiln redacts, is anywhere below DIR.
no_value_in() {
  local forms=("$TOKEN" "$FILE_VALUE" "$CMD_VALUE")
  forms+=("$(printf '%s' "$TOKEN" | base64 | tr -d '=')")
  for form in "${forms[@]}"; do
    if grep -rlaF -- "$form" "$@" 2>/dev/null; then fail "a secret value was found above"; fi
  done
  for tar in $(find "$@" -name '*.tar.zst' 2>/dev/null); do
    if zstd -dc "$tar" | grep -aF -- "$TOKEN" >/dev/null; then fail "the token is inside $tar"; fi
  done
}

step "a bake with secrets"
write_image ""
expect_exit 0 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/img"
expect_in "$WORK/img/logs/03-use.log" "raw [secret token]"
expect_in "$WORK/img/logs/03-use.log" "base64 [secret from_file]"
expect_in "$WORK/img/logs/03-use.log" "url [secret from_cmd]"
expect_in "$WORK/img/logs/04-after.log" "secrets gone after their step"
no_value_in "$WORK/img" "$KILN_CACHE_DIR"

step "a changed value rebuilds the steps that use it"
expect_exit 0 -- env KILN_IT_TOKEN="$TOKEN-rotated" "$KILN" build "$DEF/image.yaml" --explain
grep -qE "^miss +use .*a secret it uses changed" "$WORK/out" || { cat "$WORK/out"; fail "no miss for a changed secret"; }
grep -qE "^hit +base " "$WORK/out" || fail "the base should still be cached"

step "--explain without a secret's value explains what it can"
expect_exit 0 -- env -u KILN_IT_TOKEN "$KILN" build "$DEF/image.yaml" --explain
grep -qE "^hit +base " "$WORK/out" || fail "the base should be cached"
grep -qE "^\? +use .*needs secret 'token', which cannot be read here" "$WORK/out" || { cat "$WORK/out"; fail "use should need the token"; }
grep -qE "^\? +after .*a layer below it needs secret 'token'" "$WORK/out" || fail "after should follow"
expect_exit 4 -- env -u KILN_IT_TOKEN "$KILN" build "$DEF/image.yaml" --out "$WORK/no-token"
expect_in "$WORK/err" "secret 'token'"

step "a step that writes a secret into the image fails and names the file"
write_image "  - name: leak
    secrets: [token]
    shell: 'mkdir -p /etc/agent && cat /run/secrets/token > /etc/agent/token'"
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/leak"
expect_in "$WORK/err" "step 5/7 'leak' (shell) failed: step 'leak' left secret 'token' in the image: /etc/agent/token"
expect_no_image "$WORK/leak"
no_value_in "$WORK/leak" "$KILN_CACHE_DIR" "$WORK/err" "$WORK/out"
expect_cache_clean
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/leak" --on-error=abort
expect_in "$WORK/err" "changes held a secret's value and were discarded"
no_value_in "$WORK/leak" "$KILN_CACHE_DIR" "$WORK/err" "$WORK/out"
"$KILN" shell "$WORK/leak" -- test ! -e /etc/agent/token || fail "the kept tree holds the leaked file"
expect_exit 0 -- "$KILN" shell "$WORK/leak" --discard

step "an encoded leak is found too"
write_image "  - name: leak64
    secrets: [from_file]
    shell: 'base64 /run/secrets/from_file > /etc/encoded'"
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/leak64"
expect_in "$WORK/err" "left secret 'from_file' in the image: /etc/encoded"

step "a secret in a file's name is found; the value never shows in names, logs or the cache"
write_image "  - name: named
    secrets: [token]
    shell: 'mkdir -p /opt/leak && touch /opt/leak/name-\$(cat /run/secrets/token)'"
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/named"
expect_in "$WORK/err" "left secret 'token' in the image"
no_value_in "$WORK/named" "$KILN_CACHE_DIR" "$WORK/err" "$WORK/out"
if find "$WORK/named" "$KILN_CACHE_DIR" -name "*$TOKEN*" | grep . ; then
  fail "a file name holds the token"
fi

step "a secret of several lines is hidden in logs and in a failing step's error"
LINE1="multi-$RANDOM-first-line"
LINE2="multi-$RANDOM-second-line"
export KILN_IT_MULTI="$LINE1
$LINE2"
cat >"$WORK/multi.yaml" <<YAML
name: secrets-it
version: 0.1.0
base: {bootstrap: {variant: minbase}}
secrets:
  multi: {env: KILN_IT_MULTI}
steps:
  - name: show
    secrets: [multi]
    shell: 'cat /run/secrets/multi; false'
YAML
cp "$WORK/multi.yaml" "$DEF/image.yaml"
expect_exit 1 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/multi"
for line in "$LINE1" "$LINE2"; do
  if grep -rF -- "$line" "$WORK/multi" "$WORK/err" "$WORK/out"; then fail "a line of the secret is shown"; fi
done
expect_in "$WORK/multi/logs/03-show.log" "[secret multi]"

step "a secret that cannot be resolved fails before anything runs, exit 4"
write_image ""
expect_exit 4 -- env -u KILN_IT_TOKEN "$KILN" build "$DEF/image.yaml" --out "$WORK/unset"
expect_in "$WORK/err" "secret 'token' (image.yaml:5:16) cannot be resolved: environment variable KILN_IT_TOKEN is not set"
[ ! -e "$WORK/unset/logs/02-bootstrap.log" ] || fail "the bootstrap ran without the secret"
sed -i "s/printf cmd/false && printf cmd/" "$DEF/image.yaml"
expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/cmdfail"
expect_in "$WORK/err" "secret 'from_cmd' (image.yaml:7:23) cannot be resolved: the command ended with exit code 1"
rm "$DEF/secret.txt"
write_image ""
expect_exit 4 -- "$KILN" build "$DEF/image.yaml" --out "$WORK/nofile"
expect_in "$WORK/err" "secret 'from_file' (image.yaml:6:21) cannot be resolved: cannot read $DEF/secret.txt"
no_value_in "$WORK/err"
echo "PASS"
