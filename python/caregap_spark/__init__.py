"""caregap on Spark: bucket the input layer by person, run caregap once per bucket as a Spark
task, merge the buckets' partials into outputs byte-identical to a single-machine run.

Entry point: ``python -m caregap_spark`` (or the ``caregap-spark`` script); see
``docs/scale-out.md``.
"""

from .driver import (
    INPUT_TABLES,
    CaregapNotFound,
    bucket_input,
    find_caregap,
    main,
    run,
    run_buckets,
)

__all__ = [
    "INPUT_TABLES",
    "CaregapNotFound",
    "bucket_input",
    "find_caregap",
    "main",
    "run",
    "run_buckets",
]
