#!/bin/bash
# test_container.sh — builds the Dockerfile's image with podman and drives nnd inside it.
#
#   tests/container/test_container.sh [SOURCE_DIR]      (ctest -L container)
#
# Skips (exit 77) when podman is not installed, when the base-image tool
# $NN_SOURCE_DIR/../shared/tools/container-base.sh is missing and the base image too, or when
# NN_SKIP_CONTAINER=1. Otherwise: makes the local debian:bookworm(-slim) base image if it is
# missing, builds the image as nnd-test, starts nnd in it with `buildah run --network=host`
# (podman run does not work on these machines) and, over loopback, uploads a 1000-row King County
# slice, trains a short run, fetches its predictions, runs the image's HEALTHCHECK inside the
# container, and checks the version, the user (uid 10001) and a clean stop on SIGTERM.
# NN_CONTAINER_RMI=1 removes the image at the end (kept otherwise, so the next build is cached).
set -u
src=${1:-${NN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
src=$(cd "$src" && pwd)
image=localhost/nnd-test
skip() { echo "$1: container test skipped"; exit 77; }

[ "${NN_SKIP_CONTAINER:-0}" = 1 ] && skip "NN_SKIP_CONTAINER=1"
command -v podman >/dev/null 2>&1 || skip "podman not installed"
for t in curl python3; do command -v $t >/dev/null 2>&1 || skip "$t not installed"; done

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
quiet() { grep -v 'level=warning' >&2 || true; } # buildah's subuid warnings as root

t0=$(date +%s)
if ! podman image exists docker.io/library/debian:bookworm-slim 2>/dev/null ||
   ! podman image exists docker.io/library/debian:bookworm 2>/dev/null; then
    base="$src/../shared/tools/container-base.sh"
    [ -f "$base" ] || skip "no base image and no $base"
    echo "# making the base image with $base"
    if sh "$base"; then ok "base image made"; else bad "base image made"; finish; fi
fi
for t in buildah runc; do
    command -v $t >/dev/null 2>&1 || { bad "$t installed (apt-get install $t)"; finish; }
done

# ---- build ----------------------------------------------------------------------------------
tb=$(date +%s)
if podman build --format docker --runtime runc --pull=never --network=host -t nnd-test "$src" \
        >"${TMPDIR:-/tmp}/nnd-test-build.$$.log" 2>&1; then
    ok "image built in $(($(date +%s) - tb)) s"
    rm -f "${TMPDIR:-/tmp}/nnd-test-build.$$.log"
else
    grep -v 'level=warning' "${TMPDIR:-/tmp}/nnd-test-build.$$.log" | tail -n 40
    bad "image built (log: ${TMPDIR:-/tmp}/nnd-test-build.$$.log)"
    finish
fi
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image" | sed 's/^/# image size: /'

# ---- run ------------------------------------------------------------------------------------
work=$(mktemp -d)
ctr=""
bpid=""
cleanup() {
    if [ -n "$bpid" ] && kill -0 "$bpid" 2>/dev/null; then kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; fi
    [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1
    [ "${NN_CONTAINER_RMI:-0}" = 1 ] && podman rmi "$image" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ctr=$(buildah from --pull-never "$image" 2>/dev/null) || { bad "buildah from $image"; finish; }
brun() { buildah run --runtime runc --network=host "$@" 2> >(quiet); }

out=$(brun "$ctr" -- nnd --version)
check "nnd --version in the image ($out)" grep -q '^nnd [0-9]' <<<"$out"
out=$(brun "$ctr" -- id -u)
check "runs as uid 10001 (id -u: $out)" test "$out" = 10001
out=$(brun "$ctr" -- sh -c 'stat -c %u /var/lib/nnd; echo "$NND_DATA_DIR $NND_WEB_DIR"')
check "/var/lib/nnd owned by 10001, NND_* set ($(echo $out))" \
    test "$(echo $out)" = "10001 /var/lib/nnd /usr/share/nnd/web"
out=$(brun "$ctr" -- ls /usr/share/nnd/examples)
check "example specs in /usr/share/nnd/examples" grep -q 'kc_house_seed.json' <<<"$out"
out=$(brun "$ctr" -- sh -c 'command -v curl || echo none')
check "no curl in the image" test "$out" = none

# nnd on a free loopback port, data in the image's /var/lib/nnd, a token from the environment
token=container-test-token
buildah run --runtime runc --network=host --env NND_TOKEN=$token "$ctr" -- \
    nnd --listen 127.0.0.1:0 >"$work/nnd.log" 2>&1 &
bpid=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nnd.log")
    [ -n "$port" ] && break
    kill -0 "$bpid" 2>/dev/null || break
    sleep 0.2
done
if [ -z "$port" ]; then grep -v level=warning "$work/nnd.log"; bad "nnd started"; finish; fi
base="http://127.0.0.1:$port"
up=""
for _ in $(seq 1 50); do
    curl -sf "$base/healthz" >"$work/h.json" 2>/dev/null && { up=1; break; }
    sleep 0.2
done
check "nnd answers /healthz on port $port" test -n "$up"
[ -n "$up" ] || finish

auth=(-H "Authorization: Bearer $token")
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/datasets")
check "NND_TOKEN applies: /v1 without the token is 401 ($code)" test "$code" = 401

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
head -n 1001 "$src/examples/kc_house_data.csv" >"$work/kc1000.csv"
ds=$(curl -sf "${auth[@]}" -H 'Content-Type: text/csv' --data-binary @"$work/kc1000.csv" \
    "$base/v1/datasets?name=kc1000" | json "['id']")
check "uploaded the 1000-row slice ($ds)" grep -qE '^[0-9a-f]{32}$' <<<"$ds"

python3 - "$src/examples/kc_house_seed.json" "$ds" >"$work/run.json" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["training"]["epochs"] = 5
spec["training"]["validation"]["k"] = 3
print(json.dumps({"dataset": sys.argv[2], "spec": spec}))
EOF
run=$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$work/run.json" \
    "$base/v1/runs" | json "['id']")
check "created a run ($run)" grep -qE '^[0-9a-f]{32}$' <<<"$run"

status=""
for _ in $(seq 1 600); do
    status=$(curl -sf "${auth[@]}" "$base/v1/runs/$run" | json "['status']" 2>/dev/null)
    case "$status" in succeeded | failed | cancelled) break ;; esac
    sleep 0.5
done
check "run succeeded ($status)" test "$status" = succeeded

curl -sf "${auth[@]}" "$base/v1/runs/$run/predictions?format=csv" >"$work/pred.csv"
check "predictions CSV has a header and 1000 rows ($(wc -l <"$work/pred.csv") lines)" \
    test "$(head -n 1 "$work/pred.csv" | tr -d '\r')" = "row,fold,id,actual,predicted" -a \
    "$(wc -l <"$work/pred.csv")" -eq 1001

# the image's own HEALTHCHECK, run inside the container against this nnd, and against nothing
hc=$(podman image inspect --format '{{json .HealthCheck}}' "$image" |
    python3 -c "import json,sys; t=json.load(sys.stdin)['Test']; assert t[:3]==['CMD','bash','-c']; print(t[3])")
check "image has a bash HEALTHCHECK" test -n "$hc"
check "HEALTHCHECK passes inside the container" \
    brun --env NND_LISTEN=127.0.0.1:$port "$ctr" -- bash -c "$hc"
check "HEALTHCHECK fails when nothing listens" \
    bash -c '! "$@"' _ buildah run --runtime runc --network=host --env NND_LISTEN=127.0.0.1:1 \
    "$ctr" -- bash -c "$hc" 2>/dev/null

# SIGTERM to nnd inside the container: a clean stop
npid=$(pgrep -P "$(pgrep -P "$bpid" | head -n 1)" 2>/dev/null | head -n 1)
if [ -n "$npid" ]; then
    kill -TERM "$npid"
    for _ in $(seq 1 50); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.2; done
fi
check "nnd stops cleanly on SIGTERM" grep -q 'nnd: stopped' "$work/nnd.log"
wait "$bpid" 2>/dev/null
bpid=""

echo "# container test took $(($(date +%s) - t0)) s"
finish
