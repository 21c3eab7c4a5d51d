"""Entry script for spark-submit, which runs a file rather than a module:

    (cd python && zip -r ../caregap_spark.zip caregap_spark)
    spark-submit --py-files caregap_spark.zip python/caregap_spark_submit.py --input ... \\
        --out ... --work ... --buckets 64 --caregap /path/to/caregap --period 2025
"""

from caregap_spark.driver import main

raise SystemExit(main())
