#!/usr/bin/env bash
# Resident memory of a real `graft feature-worker` process over a long run.
#
#   tools/bench/worker_rss.sh [IMAGES] [INPUT_SIZE] [BATCH]      (defaults: 10000 224 16)
#
# Starts `graft broker` (own data dir, free port), publishes IMAGES Fashion-MNIST training images, runs one
# feature worker (cut out_relu) in its own JVM and samples its VmRSS every 2 s until /metrics counts IMAGES
# committed. Prints RSS after the first committed batch, at 10% of the images, the peak and the end, and
# whether the last 90% stayed flat (end within max(64 MB, 5%) of the 10% mark); the samples go to a CSV.
# The worker runs with the launcher's defaults (GRAFT_JAVA_OPTS, GRAFT_MAX_NATIVE) unless you set them;
# WORKER_ARGS adds options to its command line (e.g. WORKER_ARGS="--lanes 2 --omp-threads 1").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
images="${1:-10000}"
size="${2:-224}"
batch="${3:-16}"
idx="${GRAFT_IDX:-/usr/share/datasets/fashion-mnist}"
work="$(mktemp -d -t graft-rss.XXXXXX)"
csv="${RSS_CSV:-$work/rss.csv}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
mport="$(free_port)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$here/graft" broker --port "$port" --data "$work/broker" >"$work/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 1
done
"$here/graft" produce --bootstrap-servers "127.0.0.1:$port" --task rss --idx "$idx" --limit "$images" \
  >"$work/produce.log" 2>&1

"$here/graft" feature-worker --bootstrap-servers "127.0.0.1:$port" --input-size "$size" --batch-size "$batch" \
  --no-follow-bases --metrics-port "$mport" ${WORKER_ARGS:-} >"$work/worker.log" 2>&1 &
launcher=$!
pids+=($launcher)
sleep 2
# the launcher execs java, so its pid is the worker JVM's
jvm="$launcher"

featurized() {
  { curl -s "http://127.0.0.1:$mport/metrics" 2>/dev/null || true; } |
    awk '/^graft_images_featurized_total/ {s += $2} END {printf "%d\n", s}'
}
rss_mb() { awk '/^VmRSS/ {printf "%d\n", $2 / 1024}' "/proc/$jvm/status"; }

echo "seconds,featurized,vm_rss_mb" >"$csv"
t0=$(date +%s)
first="" ten="" peak=0 done=0
while kill -0 "$jvm" 2>/dev/null; do
  done=$(featurized)
  rss=$(rss_mb)
  echo "$(( $(date +%s) - t0 )),$done,$rss" >>"$csv"
  (( rss > peak )) && peak=$rss
  [ -z "$first" ] && (( done > 0 )) && first=$rss
  [ -z "$ten" ] && (( done >= images / 10 )) && ten=$rss
  (( done >= images )) && break
  sleep 2
done
end=$(rss_mb)
secs=$(( $(date +%s) - t0 ))
if (( done < images )); then
  echo "worker stopped after $done of $images images; log: $work/worker.log" >&2
  exit 1
fi
limit=$(( ten / 20 > 64 ? ten / 20 : 64 ))
verdict=$([ $(( end - ten )) -le "$limit" ] && echo flat || echo GROWING)
printf 'worker RSS, %d images at %d px, batch %d, %d s (%.1f img/s): first batch %d MB, at 10%% %d MB, peak %d MB, end %d MB: %s\n' \
  "$images" "$size" "$batch" "$secs" "$(echo "$images / $secs" | bc -l)" "$first" "$ten" "$peak" "$end" "$verdict"
echo "samples: $csv"
