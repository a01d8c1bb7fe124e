#!/usr/bin/env bash
# Builds the benchmark once per flate2 backend (flate2 takes one backend per build) and once
# with -C target-cpu=native, then runs them round-robin, ROUNDS times per dataset, so that
# machine load hits every variant alike. Rows go to out/rows.tsv; the table to stdout.
#
#   bash run.sh LABEL=DIR [LABEL=DIR...]      (ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-3}
mkdir -p out/bin
build() { # name, cargo args...
  local name=$1; shift
  cargo build --release --quiet "$@"
  cp target/release/trailhound-choices "out/bin/$name"
}
build zlib-rs-rd
build zlib-rs --no-default-features --features zlib-rs
build miniz --no-default-features --features miniz
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native \
  cargo build --release --quiet
cp target/native/release/trailhound-choices out/bin/native

: > out/rows.tsv
for spec in "$@"; do
  label=${spec%%=*} dir=${spec#*=}
  for round in $(seq "$ROUNDS"); do
    echo "== $label round $round/$ROUNDS ($(uptime | sed 's/.*load/load/'))" >&2
    # What trailhound builds: zlib-rs (with runtime_detection here), plus libdeflater and the
    # parsers, baseline x86-64 code as any release binary.
    out/bin/zlib-rs-rd --tsv --rounds 1 --label "$label" "$dir" >> out/rows.tsv
    out/bin/zlib-rs --tsv --rounds 1 --only flate2 --label "$label" "$dir" >> out/rows.tsv
    out/bin/miniz --tsv --rounds 1 --only flate2 --label "$label" "$dir" >> out/rows.tsv
    out/bin/native --tsv --rounds 1 --only flate2,serde_json,simd-json,sonic-rs \
      --label "$label" "$dir" >> out/rows.tsv
  done
done
out/bin/zlib-rs-rd summarize out/rows.tsv
