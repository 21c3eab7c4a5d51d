#!/usr/bin/env bash
# State-scale benchmark (issues #9, #10): a wrapper over the bench binary
# crates/cli/benches/scale.rs, which synthesizes each size once (cached under
# target/bench-data), times the full `caregap run` in a fresh process and prints rows, seconds,
# rows/s and peak memory per stage (from the run manifest; appended to
# target/bench-results/scale.csv).
#
#   benches/scale.sh --persons 100000,300000,1000000            # plain `caregap run`
#   benches/scale.sh --persons 1000000 --run-args "--memory-limit 7GiB --bucketing hash"
#   benches/scale.sh --persons 1000000 --scale-out 1,4,16     # partition + N bucket processes + merge
#
# Not part of the test suite; performance is measured here, never in tests. (Peak memory comes
# from the process's own per-stage VmHWM; `/usr/bin/time -f %M` under-reports it, because
# caregap resets the high-water mark at each stage.)
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p caregap-cli --bench scale -- "$@"
