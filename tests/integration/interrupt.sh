#!/usr/bin/env bash
# A build interrupted with SIGINT in the middle of a step, and with SIGTERM in the middle of the
# bootstrap, exits 130/143 and leaves nothing mounted, nothing running and no image in OUT.
. "$(dirname "$0")/lib.sh"
require_root
require_mirror

# wait_for PID FILE TEXT SECONDS: until FILE holds TEXT, within a bound, while PID runs.
wait_for() {
  local pid=$1 file=$2 text=$3 bound=$4 waited=0
  until grep -qF -- "$text" "$file" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "kiln ended before '$text' appeared in $file"
    sleep 0.5; waited=$((waited + 1))
    [ "$waited" -lt $((bound * 2)) ] || fail "'$text' did not appear in $file within ${bound}s"
  done
}

# wait_exit PID SECONDS: sets $code to the exit code of background PID, within a bound.
wait_exit() {
  local pid=$1 bound=$2 waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2; waited=$((waited + 1))
    [ "$waited" -lt $((bound * 5)) ] || { kill -KILL "$pid"; fail "kiln did not stop within ${bound}s"; }
  done
  code=0
  wait "$pid" || code=$?
}

MARKER="3600.$$"
# The step also starts a daemon in its own session, out of kiln's process group: only the PID
# namespace can take it down.
step "SIGINT while a shell step runs"
write_definition "$WORK/int" "  - name: prepare
    shell: 'echo ready'
  - name: wait
    shell: 'setsid -f sleep $MARKER; echo waiting; sleep $MARKER; echo not-reached'"
OUT="$WORK/int-out"
"$KILN" build "$WORK/int/image.yaml" --out "$OUT" >"$WORK/int.out" 2>"$WORK/int.err" &
pid=$!
wait_for "$pid" "$OUT/logs/04-wait.log" "waiting" 240
# "waiting" is written before the shell starts the second sleep: give it a moment to start.
waited=0
until pgrep -f -- "sleep $MARKER" >/dev/null; do
  sleep 0.2; waited=$((waited + 1))
  [ "$waited" -lt 50 ] || fail "the step's process is not running"
done
if grep -F " $OUT" /proc/self/mountinfo; then fail "the sandbox's mounts are visible on the host"; fi
kill -INT "$pid"
wait_exit "$pid" 60
[ "$code" = 130 ] || { cat "$WORK/int.err"; fail "exit code $code after SIGINT, expected 130"; }
expect_in "$WORK/int.err" "kiln: interrupted by SIGINT"
expect_nothing_left "$WORK" "sleep $MARKER"
expect_no_image "$OUT"
expect_cache_clean
if grep -qx "not-reached" "$OUT/logs/04-wait.log"; then fail "the step went on after the interrupt"; fi

step "SIGTERM while mmdebstrap installs the base"
export KILN_CACHE_DIR="$WORK/cache-term" # the base must not come from the cache
write_definition "$WORK/term" "  - shell: 'true'"
OUT="$WORK/term-out"
"$KILN" build "$WORK/term/image.yaml" --out "$OUT" >"$WORK/term.out" 2>"$WORK/term.err" &
pid=$!
wait_for "$pid" "$OUT/logs/02-bootstrap.log" "I: extracting archives" 240
kill -TERM "$pid"
wait_exit "$pid" 60
[ "$code" = 143 ] || { cat "$WORK/term.err"; fail "exit code $code after SIGTERM, expected 143"; }
expect_in "$WORK/term.err" "kiln: interrupted by SIGTERM"
expect_nothing_left "$WORK" "$KILN_CACHE_DIR"
expect_no_image "$OUT"
expect_cache_clean

# SIGKILL gives kiln no chance to clean up: its children must die with it (PR_SET_PDEATHSIG), and
# nothing may keep OUT's lock. Once, steps, mmdebstrap and dpkg ran on for up to 40 s.
# expect_gone MARKER SECONDS: no process whose command line holds MARKER, within a bound.
expect_gone() {
  local marker=$1 bound=$2 waited=0
  while pgrep -f -- "$marker" >/dev/null; do
    sleep 0.2; waited=$((waited + 1))
    if [ "$waited" -ge $((bound * 5)) ]; then
      ps -ef | grep -F -- "$marker" | grep -v grep
      fail "processes with '$marker' outlived kiln's SIGKILL by ${bound}s"
    fi
  done
}

step "SIGKILL at a random point of the bootstrap"
export KILN_CACHE_DIR="$WORK/cache-kill"
write_definition "$WORK/kill" "  - shell: 'true'"
OUT="$WORK/kill-out"
"$KILN" build "$WORK/kill/image.yaml" --out "$OUT" >"$WORK/kill.out" 2>"$WORK/kill.err" &
pid=$!
wait_for "$pid" "$OUT/logs/02-bootstrap.log" "I: " 240
sleep "$((RANDOM % 8)).$((RANDOM % 10))"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
expect_gone "$KILN_CACHE_DIR" 3
if grep -F " $WORK" /proc/self/mountinfo; then fail "still mounted after SIGKILL"; fi

step "SIGKILL while a step runs"
KMARKER="3599.$$"
write_definition "$WORK/kill" "  - name: wait
    shell: 'setsid -f sleep $KMARKER; echo waiting; sleep $KMARKER'"
"$KILN" build "$WORK/kill/image.yaml" --out "$OUT" >"$WORK/kill.out" 2>"$WORK/kill.err" &
pid=$!
wait_for "$pid" "$OUT/logs/03-wait.log" "waiting" 300
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
expect_gone "sleep $KMARKER" 3
expect_gone "$KILN_CACHE_DIR" 3
if grep -F " $WORK" /proc/self/mountinfo; then fail "still mounted after SIGKILL"; fi
write_definition "$WORK/kill" "  - shell: 'true'"
expect_exit 0 -- "$KILN" build "$WORK/kill/image.yaml" --out "$OUT"

step "the next build into the same folder works"
write_definition "$WORK/term" "  - shell: 'echo again > /etc/again'"
expect_exit 0 -- "$KILN" build "$WORK/term/image.yaml" --out "$OUT"
[ -s "$OUT/manifest.json" ] || fail "no manifest after a clean rebuild"
echo "PASS"
