#!/usr/bin/env bash
# Benchmark: serving audio with HTTP Range, `megabox serve` against nginx on the same files, in
# the same run (DESIGN.md §9: target ≥ 0.8× nginx's throughput). wrk makes random 256 KiB Range
# requests over 64 connections against each; megabox's requests go through its real stream
# endpoint (signed link, entitlement check, actix-files), nginx serves the same blob files
# straight from disk. Prints requests/s and MB/s of both, the ratio, and megabox's peak memory.
#
# Settings (environment): DURATION_SECONDS (default 15), CONNECTIONS (64), THREADS (2),
# MEGABOX_BIN (default: build target/release/megabox).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION_SECONDS=${DURATION_SECONDS:-15}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nginx-light wrk >/dev/null
fi
if [ -z "${MEGABOX_BIN:-}" ]; then
  cargo build --release --quiet --bin megabox
  MEGABOX_BIN=target/release/megabox
fi

work=$(mktemp -d)
cleanup() { [ -n "${megabox_pid:-}" ] && kill "$megabox_pid" 2>/dev/null; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
megabox_port=$(free_port)
nginx_port=$(free_port)

# The demo catalog: four 40-second tracks, and a demo listener on the free tier.
export MEGABOX_DATA_DIR="$work/data" MEGABOX_BIND="127.0.0.1:$megabox_port" MEGABOX_LOG_FORMAT=json RUST_LOG=warn
"$MEGABOX_BIN" serve --demo >"$work/megabox.log" 2>&1 &
megabox_pid=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$megabox_port/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$megabox_port/healthz" >/dev/null || { echo "megabox did not start:" >&2; cat "$work/megabox.log" >&2; exit 1; }

python3 - "$megabox_port" "$work" <<'PY'
import json, sys, urllib.request
port, work = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("content-type", "application/json")
    if token: request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response: return json.load(response)
token = call("POST", "/api/v1/auth/login", {"email": "listener@demo.megabox.test", "password": "megabox-demo-password"})["access_token"]
megabox_lines = []
for summary in call("GET", "/api/v1/catalog/releases")["releases"]:
    for track in call("GET", f"/api/v1/catalog/releases/{summary['id']}")["tracks"]:
        url = call("POST", "/api/v1/plays", {"track_id": track["id"]}, token)["stream_url"]
        head = urllib.request.urlopen(urllib.request.Request(base + url, method="HEAD"))
        size = int(head.headers["content-length"])
        megabox_lines.append(f"{url} {size}")
open(f"{work}/megabox.paths", "w").write("\n".join(megabox_lines) + "\n")
PY

# nginx serves the same blob files: every audio blob under the media directory.
find "$work/data/media/audio" -type f | sort | while read -r file; do
  echo "/${file#"$work/data/media/"} $(stat -c %s "$file")"
done >"$work/nginx.paths"
# nginx's workers run as an unprivileged user: let them read the files.
chmod 755 "$work" && chmod -R a+rX "$work/data/media"
cat >"$work/nginx.conf" <<NGINX
worker_processes $(nproc);
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$nginx_port; root $work/data/media; }
}
NGINX
nginx -c "$work/nginx.conf"

cat >"$work/ranges.lua" <<'LUA'
local targets = {}
local file = io.open(os.getenv("PATHS_FILE"))
for line in file:lines() do
  local path, size = line:match("^(%S+) (%d+)$")
  table.insert(targets, { path = path, size = tonumber(size) })
end
file:close()
local range_bytes = 256 * 1024
math.randomseed(os.time())
request = function()
  local target = targets[math.random(#targets)]
  local start = math.random(0, math.max(0, target.size - range_bytes))
  return wrk.format("GET", target.path, { ["Range"] = "bytes=" .. start .. "-" .. (start + range_bytes - 1) })
end
LUA

run_wrk() { PATHS_FILE="$2" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_SECONDS}s" -s "$work/ranges.lua" "$1"; }
summary() { awk '/Requests\/sec/ {rps=$2} /Transfer\/sec/ {v=$2; if (v ~ /GB/) {sub("GB","",v); v*=1024} else if (v ~ /KB/) {sub("KB","",v); v/=1024} else {sub("MB","",v)}; mbs=v} END {printf "%.0f %.1f\n", rps, mbs}'; }

run_wrk "http://127.0.0.1:$nginx_port" "$work/nginx.paths" >"$work/nginx.wrk"
run_wrk "http://127.0.0.1:$megabox_port" "$work/megabox.paths" >"$work/megabox.wrk"
read -r nginx_rps nginx_mbs < <(summary <"$work/nginx.wrk")
read -r megabox_rps megabox_mbs < <(summary <"$work/megabox.wrk")
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$megabox_pid/status")
errors=$(grep -H -E "Non-2xx|Socket errors" "$work/megabox.wrk" "$work/nginx.wrk" || true)

printf 'random 256 KiB ranges, %s connections, %s s each\n' "$CONNECTIONS" "$DURATION_SECONDS"
printf 'nginx          %8s req/s  %8s MB/s\n' "$nginx_rps" "$nginx_mbs"
printf 'megabox serve  %8s req/s  %8s MB/s\n' "$megabox_rps" "$megabox_mbs"
python3 -c "print(f'ratio megabox/nginx: {float($megabox_rps)/float($nginx_rps):.2f}x (target >= 0.8x)')"
printf 'megabox peak memory: %s MiB\n' "$((peak_kib / 1024))"
[ -z "$errors" ] || printf 'errors (a run with errors is not comparable):\n%s\n' "$errors"
