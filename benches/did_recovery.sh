#!/usr/bin/env bash
# DiD recovery check (spec §5, issue #5): synthesize N persons with the planted Health Home
# effect (admissions −12.8 %, ED −8.2 %) and with no effect, run the pipeline, and report the
# DiD estimates, their bootstrap intervals, and the relative effect they imply
# (DiD / (enrollee after-rate − DiD)), against what was planted. Not part of the tests.
# Usage: benches/did_recovery.sh [PERSONS=200000] [SEED=7]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}; SEED=${2:-7}
cargo build --release -q
BIN=target/release/caregap
for EFFECT in planted none; do
  DATA=target/bench-data/did-$EFFECT-p$N-s$SEED
  OUT=target/bench-out/did-$EFFECT-p$N-s$SEED
  if [ "$EFFECT" = planted ]; then FLAGS="--effect-admissions 0.128 --effect-ed 0.082"; else FLAGS="--effect-admissions 0 --effect-ed 0"; fi
  [ -f "$DATA/ground_truth.parquet" ] || $BIN synth --persons "$N" --seed "$SEED" --out "$DATA" $FLAGS >/dev/null
  /usr/bin/time -f "run ($EFFECT): %e s wall, %M KiB peak RSS" $BIN run --input "$DATA" --out "$OUT" --period 2025 >/dev/null
  python3 - "$OUT/cost_effectiveness.parquet" "$EFFECT" <<'PY'
import sys, subprocess, json
path, effect = sys.argv[1], sys.argv[2]
try:
    import pyarrow.parquet as pq
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyarrow"], check=True)
    import pyarrow.parquet as pq
t = pq.read_table(path).to_pylist()
planted = {"ed_per_1000": 0.082, "ip_per_1000": 0.128} if effect == "planted" else {"ed_per_1000": 0.0, "ip_per_1000": 0.0}
print(f"effect {effect}: persons hh={t[0]['hh_persons']} comparison={t[0]['comparison_persons']} draws={t[0]['bootstrap_draws']}")
for r in t:
    m = r["metric"]
    if r["did"] is None:
        print(f"  {m}: no estimate"); continue
    line = f"  {m:<16} did={r['did']:.3f} 95% CI [{r['did_ci_low']:.3f}, {r['did_ci_high']:.3f}]"
    if m in planted:
        cf = r["hh_after"] - r["did"]  # counterfactual after-rate
        rel = lambda x: x / (r["hh_after"] - x)
        lo, hi = rel(r["did_ci_low"]), rel(r["did_ci_high"])
        covers = min(lo, hi) <= -planted[m] <= max(lo, hi)
        excl0 = not (min(r['did_ci_low'], r['did_ci_high']) <= 0 <= max(r['did_ci_low'], r['did_ci_high']))
        line += f"  relative {rel(r['did']):+.1%} [{min(lo,hi):+.1%}, {max(lo,hi):+.1%}] planted {-planted[m]:+.1%}: covers={covers} excludes_zero={excl0}"
    print(line)
PY
done
