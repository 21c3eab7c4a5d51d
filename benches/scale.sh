#!/usr/bin/env bash
# Scale run: synthesize N persons (cached under target/bench-data), then time `caregap run`.
# Prints wall time and peak memory of both steps and the per-stage timings from the manifest.
# Usage: benches/scale.sh [PERSONS=100000] [SEED=1]
# Not part of the test suite; performance is measured here, never in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; SEED=${2:-1}
cargo build --release -q
BIN=target/release/caregap
DATA=target/bench-data/p$N-s$SEED
OUT=target/bench-out/p$N-s$SEED
if [ ! -f "$DATA/ground_truth.parquet" ]; then
  /usr/bin/time -f "synth: %e s wall, %M KiB peak RSS" $BIN synth --persons "$N" --seed "$SEED" --out "$DATA"
fi
/usr/bin/time -f "run: %e s wall, %M KiB peak RSS" $BIN run --input "$DATA" --out "$OUT" --period 2025
/usr/bin/time -f "verify-truth: %e s wall" $BIN verify-truth --input "$DATA" --out "$OUT" | tail -1
python3 - "$OUT/run_manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"{'stage':<14}{'rows':>14}{'seconds':>10}")
for t in m["timings"]:
    print(f"{t['stage']:<14}{t['rows']:>14}{t['seconds']:>10.2f}")
PY
