#!/usr/bin/env bash
# Benchmark of the catalog's audio analysis against ffprobe and ffmpeg on the same files (DESIGN.md §9).
#
# Generates a mixed library (FLAC, MP3, Ogg Vorbis, WAV, AIFF, AAC and ALAC in MP4, with tags and,
# where ffmpeg can embed it, artwork), then measures on one core, in the same run:
#   1. tags + properties: catalog's read_properties_and_tags vs `ffprobe -show_format -show_streams`;
#   2. full analysis (decode, loudness, true peak, waveform, hash): catalog's analyze_file, in process
#      and through the sandbox's child process, vs `ffmpeg -af ebur128=peak=true -f null -`.
# It prints files/s for each and the ratios. Needs ffmpeg (with libmp3lame and libvorbis) and taskset.
#
# Settings (environment):
#   LIBRARY_FILES   files in the library (default 3000)
#   BASELINE_FILES  files each process-per-file tool (ffprobe, ffmpeg, the sandbox) runs on (default 300)
#   SEEDS_PER_FORMAT distinct recordings generated per format; the library repeats them (default 12)
#   WORK_DIR        where the library is generated (default: a new temporary directory, removed at the end)
#   BENCH_BIN_DIR   directory holding release builds of catalog-bench and catalog-analyze (default: build them)
set -euo pipefail

LIBRARY_FILES=${LIBRARY_FILES:-3000}
BASELINE_FILES=${BASELINE_FILES:-300}
SEEDS_PER_FORMAT=${SEEDS_PER_FORMAT:-12}
REPOSITORY=$(cd "$(dirname "$0")/../.." && pwd)

if [[ -z ${WORK_DIR:-} ]]; then
  WORK_DIR=$(mktemp -d)
  trap 'rm -rf "$WORK_DIR"' EXIT
fi
mkdir -p "$WORK_DIR/seeds" "$WORK_DIR/library"

if [[ -z ${BENCH_BIN_DIR:-} ]]; then
  cargo build --quiet --release --manifest-path "$REPOSITORY/catalog/Cargo.toml" --bin catalog-bench --bin catalog-analyze
  BENCH_BIN_DIR=$(cargo metadata --format-version 1 --no-deps --manifest-path "$REPOSITORY/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
fi

# One core for everything measured, so that the rates are per core.
on_one_core() { taskset -c 0 "$@"; }

echo "== generating $SEEDS_PER_FORMAT recordings per format in $WORK_DIR"
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=800x800" -frames:v 1 "$WORK_DIR/cover.jpg"
# extension, ffmpeg codec arguments, whether ffmpeg can embed the cover in this container
FORMATS=(
  "flac|-c:a flac|yes"
  "mp3|-c:a libmp3lame -b:a 192k -id3v2_version 3|yes"
  "ogg|-c:a libvorbis -q:a 5|no"
  "wav|-c:a pcm_s16le|no"
  "aiff|-c:a pcm_s16be -write_id3v2 1|no"
  "aac.m4a|-c:a aac -b:a 192k|yes"
  "alac.m4a|-c:a alac|yes"
)
for format in "${FORMATS[@]}"; do
  IFS='|' read -r extension codec_args embeds_cover <<<"$format"
  for seed in $(seq 1 "$SEEDS_PER_FORMAT"); do
    seconds=$((2 + seed % 4))
    frequency=$((220 + 37 * seed))
    inputs=(-f lavfi -i "sine=frequency=$frequency:sample_rate=44100:duration=$seconds" -f lavfi -i "sine=frequency=$((frequency * 3 / 2)):sample_rate=44100:duration=$seconds")
    mapping=(-filter_complex "[0:a][1:a]amerge=inputs=2,volume=0.5[a]" -map "[a]")
    if [[ $embeds_cover == yes ]]; then
      inputs+=(-i "$WORK_DIR/cover.jpg")
      mapping+=(-map 2:v -c:v copy -disposition:v attached_pic)
    fi
    # shellcheck disable=SC2086 # codec_args is a list of arguments
    ffmpeg -loglevel error -y "${inputs[@]}" "${mapping[@]}" $codec_args \
      -metadata title="Recording $seed" -metadata artist="Bench Artist $((seed % 5))" -metadata album="Bench Album $((seed % 3))" \
      -metadata album_artist="Bench Artist" -metadata track="$seed/$SEEDS_PER_FORMAT" -metadata disc=1 -metadata date=2024 \
      -metadata genre=Electronic "$WORK_DIR/seeds/$seed.$extension"
  done
done

echo "== filling a library of $LIBRARY_FILES files"
mapfile -t seeds < <(find "$WORK_DIR/seeds" -type f | sort)
for index in $(seq 0 $((LIBRARY_FILES - 1))); do
  seed=${seeds[$((index % ${#seeds[@]}))]}
  cp "$seed" "$WORK_DIR/library/$index-$(basename "$seed")"
done
find "$WORK_DIR/library" -type f | sort >"$WORK_DIR/all.list"
# Every format in the baseline subset: take every n-th file of the sorted library.
awk -v step=$((LIBRARY_FILES / BASELINE_FILES)) 'NR % step == 0' "$WORK_DIR/all.list" | head -n "$BASELINE_FILES" >"$WORK_DIR/baseline.list"
baseline_count=$(wc -l <"$WORK_DIR/baseline.list")
cat $(cat "$WORK_DIR/all.list") >/dev/null # warm the page cache: measure CPU, not the disk
du -sh "$WORK_DIR/library"

rate() { python3 -c "print(f'{$1 / $2:.1f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
catalog_rate() { sed -n 's/.*files_per_second=\([0-9.]*\).*/\1/p' <<<"$1"; }

# Runs a command once per file of a list on one core, with {} replaced by the file, and prints files/s.
per_file_rate() {
  local list=$1
  shift
  local started finished path
  started=$(date +%s.%N)
  while read -r path; do
    local command=("${@//\{\}/$path}")
    on_one_core "${command[@]}" >/dev/null 2>&1 || { echo "failed: ${command[*]}" >&2; exit 1; }
  done <"$list"
  finished=$(date +%s.%N)
  rate "$(wc -l <"$list")" "$(python3 -c "print($finished - $started)")"
}

echo "== tags + properties"
ours=$(on_one_core "$BENCH_BIN_DIR/catalog-bench" tags "$WORK_DIR/all.list")
echo "catalog read_properties_and_tags: $ours"
ours_tags=$(catalog_rate "$ours")
ffprobe_rate=$(per_file_rate "$WORK_DIR/baseline.list" ffprobe -v error -show_format -show_streams {})
echo "ffprobe (one process per file, $baseline_count files): files_per_second=$ffprobe_rate"

echo "== full analysis (decode, loudness, true peak, waveform, hash; ours adds tags and artwork)"
ours=$(on_one_core "$BENCH_BIN_DIR/catalog-bench" analyze "$WORK_DIR/baseline.list")
echo "catalog analyze_file in process: $ours"
ours_analysis=$(catalog_rate "$ours")
ours=$(on_one_core "$BENCH_BIN_DIR/catalog-bench" sandbox "$WORK_DIR/baseline.list")
echo "catalog analyze_file through the sandbox's child process: $ours"
ours_sandboxed=$(catalog_rate "$ours")
ffmpeg_rate=$(per_file_rate "$WORK_DIR/baseline.list" ffmpeg -nostdin -hide_banner -nostats -threads 1 -filter_threads 1 -i {} -af ebur128=peak=true -f null -)
echo "ffmpeg -af ebur128=peak=true (one process per file, $baseline_count files): files_per_second=$ffmpeg_rate"

echo "== results (one core)"
echo "tags + properties: catalog $ours_tags files/s, ffprobe $ffprobe_rate files/s, ratio $(ratio "$ours_tags" "$ffprobe_rate")x (target: >= 20000 files/s/core)"
echo "full analysis: catalog in process $ours_analysis files/s ($(ratio "$ours_analysis" "$ffmpeg_rate")x ffmpeg), sandboxed $ours_sandboxed files/s ($(ratio "$ours_sandboxed" "$ffmpeg_rate")x ffmpeg), ffmpeg ebur128 $ffmpeg_rate files/s (target: faster than ffmpeg)"
