"""Real data in, real readers out (issue #15).

Inputs: the same synthetic population written in every shape a data team exports — Parquet
as dbt, pandas and Spark write it (DECIMAL money; DATE32, DATE64, TIMESTAMP of several units
and time zones; ids and codes stored as integers, floats and decimals; large and
dictionary-encoded strings) and CSV as spreadsheets and state systems write it (UTF-8 BOM,
CRLF, gzip with or without the `.gz` name, tab-separated, YYYYMMDD dates) — must give outputs
byte-identical to the plain-CSV run.

Outputs: every Parquet file caregap writes (a run's outputs, a bucket's partial, the bucketed
layout of `caregap partition`, `caregap synth`'s input files) must be readable by pyarrow with a
filter on a string column and by pandas (`to_pandas()`), and no column may have an Arrow view
type (`string_view`, `binary_view`, or a list of them). R's arrow package cannot read view
types at all (apache/arrow#45523) and cannot be installed here: the schema assertion stands
for it. Dates are Arrow DATE (date32).

Needs the caregap binary (CAREGAP_BIN, default target/debug/caregap), pyarrow and pandas.
"""

import csv
import gzip
import os
import re
import subprocess
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("CAREGAP_BIN", str(ROOT / "target" / "debug" / "caregap"))
RUN_ARGS = ["--period", "2025", "--bootstrap-draws", "50", "--buckets", "1"]
TABLES = ["eligibility", "medical_claim", "pharmacy_claim", "observation", "lab_result",
          "health_home_enrollment"]
# Numeric codes a Parquet writer stores as integers when the source column was numeric.
INT_CODES = ["place_of_service_code", "bill_type_code", "revenue_center_code", "ndc_code",
             "discharge_disposition_code"]
MONEY = ["paid_amount", "allowed_amount", "charge_amount", "quantity"]
WHOLE = ["claim_line_number", "days_supply", "refills"]


def caregap(*args, ok=True):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, f"caregap {args} failed: {r.stdout}{r.stderr}"
    return r


def is_date_col(name):
    return name.endswith("_date")


# ---------------------------------------------------------------------------------------------
# The base population: synthetic CSV with numeric person ids (so that ids can be stored as
# numbers), read as text rows.

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("shapes")
    caregap("synth", "--persons", 400, "--seed", 15, "--format", "csv", "--out", d / "synth")
    tables = {}
    for t in TABLES:
        rows = []
        for part in sorted((d / "synth" / t).glob("*.csv")):
            with open(part, newline="", encoding="utf-8") as f:
                rows.extend(csv.DictReader(f))
        header = list(rows[0].keys())
        for r in rows:
            # P00000012 -> 10012: a numeric id whose text has no leading zero.
            r["person_id"] = str(10000 + int(r["person_id"][1:]))
        tables[t] = (header, rows)
    plain = d / "plain"
    write_csv(tables, plain)
    caregap("run", *RUN_ARGS, "--input", plain, "--out", d / "plain_out")
    return d, tables


def write_csv(tables, out, *, sep=",", suffix=".csv", bom=False, crlf=False, compress=False,
              date_fmt=None):
    out.mkdir(parents=True, exist_ok=True)
    for t, (header, rows) in tables.items():
        lines = []
        buf = _Lines(lines)
        w = csv.writer(buf, delimiter=sep, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        for r in rows:
            vals = []
            for c in header:
                v = r[c]
                if date_fmt and is_date_col(c) and v:
                    v = date.fromisoformat(v).strftime(date_fmt)
                vals.append(v)
            w.writerow(vals)
        data = ("\ufeff" if bom else "") + "".join(lines)
        raw = data.encode("utf-8")
        if compress:
            raw = gzip.compress(raw, mtime=0)
        (out / f"{t}{suffix}").write_bytes(raw)


class _Lines:
    def __init__(self, lines):
        self.lines = lines

    def write(self, s):
        self.lines.append(s)


# ---------------------------------------------------------------------------------------------
# Parquet shapes: each a function (column name, text values) -> Arrow array, or None to keep
# the column as plain strings.

def to_date(v):
    return date.fromisoformat(v) if v else None


def date32(c, vals):
    return pa.array([to_date(v) for v in vals], pa.date32()) if is_date_col(c) else None


def date64(c, vals):
    return pa.array([to_date(v) for v in vals], pa.date64()) if is_date_col(c) else None


def timestamp(unit, tz=None):
    def f(c, vals):
        if not is_date_col(c):
            return None
        zone = ZoneInfo(tz) if tz else None
        ts = [datetime.combine(to_date(v), time(), zone) if v else None for v in vals]
        return pa.array(ts, pa.timestamp(unit, tz=tz))
    return f


def timestamp_midday_utc(c, vals):
    """Timestamps with a time of day (noon UTC): the calendar date is still the date."""
    if not is_date_col(c):
        return None
    ts = [datetime.combine(to_date(v), time(12, 30), timezone.utc) if v else None for v in vals]
    return pa.array(ts, pa.timestamp("us", tz="UTC"))


def typed_base(c, vals):
    """What a typed export writes: dates as DATE, money as float64, whole numbers as int64."""
    if is_date_col(c):
        return date32(c, vals)
    if c in MONEY:
        return pa.array([float(v) if v else None for v in vals], pa.float64())
    if c in WHOLE:
        return pa.array([int(v) if v else None for v in vals], pa.int64())
    return None


def decimal_money(c, vals):
    if c in MONEY:
        return pa.array([Decimal(v).quantize(Decimal("0.001")) if v else None for v in vals],
                        pa.decimal128(18, 3))
    return typed_base(c, vals)


def numeric_ids(kind):
    def f(c, vals):
        if c == "person_id" or (c in INT_CODES and all(v.isdigit() for v in vals if v)):
            if kind == "int":
                return pa.array([int(v) if v else None for v in vals], pa.int64())
            if kind == "float":
                return pa.array([float(v) if v else None for v in vals], pa.float64())
            return pa.array([Decimal(v) if v else None for v in vals], pa.decimal128(20, 2))
        return typed_base(c, vals)
    return f


def string_type(t):
    def f(c, vals):
        out = typed_base(c, vals)
        if out is None:
            out = pa.array([v if v else None for v in vals], pa.string()).cast(t)
        return out
    return f


def dictionary(c, vals):
    out = typed_base(c, vals)
    if out is None:
        out = pa.array([v if v else None for v in vals], pa.string()).dictionary_encode()
    return out


def write_parquet(tables, out, convert):
    out.mkdir(parents=True, exist_ok=True)
    for t, (header, rows) in tables.items():
        arrays = []
        for c in header:
            vals = [r[c] for r in rows]
            a = convert(c, vals)
            if a is None:
                a = pa.array([v if v else None for v in vals], pa.string())
            arrays.append(a)
        pq.write_table(pa.table(arrays, names=header), out / f"{t}.parquet")


PARQUET_SHAPES = {
    "parquet_typed": typed_base,
    "parquet_all_text": lambda c, vals: None,
    "parquet_date32": date32,
    "parquet_date64": date64,
    "parquet_timestamp_ns": timestamp("ns"),
    "parquet_timestamp_ms_utc": timestamp("ms", "UTC"),
    "parquet_timestamp_s": timestamp("s"),
    "parquet_timestamp_us_tokyo": timestamp("us", "Asia/Tokyo"),
    "parquet_timestamp_us_chicago": timestamp("us", "America/Chicago"),
    "parquet_timestamp_midday_utc": timestamp_midday_utc,
    "parquet_decimal_money": decimal_money,
    "parquet_int_ids_and_codes": numeric_ids("int"),
    "parquet_float_ids_and_codes": numeric_ids("float"),
    "parquet_decimal_ids_and_codes": numeric_ids("decimal"),
    "parquet_large_string": string_type(pa.large_string()),
    "parquet_dictionary_strings": dictionary,
}

CSV_SHAPES = {
    "csv_bom": dict(bom=True),
    "csv_crlf": dict(crlf=True),
    "csv_bom_crlf": dict(bom=True, crlf=True),
    "csv_gz": dict(suffix=".csv.gz", compress=True),
    "csv_gzip_bytes_named_csv": dict(compress=True),
    "tsv": dict(sep="\t", suffix=".tsv"),
    "tsv_gz": dict(sep="\t", suffix=".tsv.gz", compress=True),
    "csv_yyyymmdd_dates": dict(date_fmt="%Y%m%d"),
}


# The report's data-quality section has a table of the input files (name, table, SHA-256),
# which differ by shape by construction; everything else in it must be the same.
INPUT_FILE_ROW = re.compile(rb'<table(?:(?!</table>).)*?class="hash".*?</table>', re.S)


def output_bytes(p: Path):
    b = p.read_bytes()
    return INPUT_FILE_ROW.sub(b"", b) if p.name == "report.html" else b


def outputs_differing(a: Path, b: Path):
    names = sorted(p.name for p in a.iterdir() if p.name != "run_manifest.json")
    assert "care_gaps.parquet" in names and "report.html" in names
    assert names == sorted(p.name for p in b.iterdir() if p.name != "run_manifest.json")
    assert INPUT_FILE_ROW.search((a / "report.html").read_bytes())
    return [n for n in names if output_bytes(a / n) != output_bytes(b / n)]


def assert_same_as_plain(d, shape_dir, name):
    out = d / f"{name}_out"
    caregap("run", *RUN_ARGS, "--input", shape_dir, "--out", out)
    assert outputs_differing(d / "plain_out", out) == [], name
    rejects = pq.read_table(out / "rejects.parquet")
    assert rejects.num_rows == pq.read_table(d / "plain_out" / "rejects.parquet").num_rows


@pytest.mark.parametrize("name", sorted(PARQUET_SHAPES))
def test_parquet_shape_gives_the_plain_csv_outputs(base, name):
    d, tables = base
    write_parquet(tables, d / name, PARQUET_SHAPES[name])
    assert_same_as_plain(d, d / name, name)


@pytest.mark.parametrize("name", sorted(CSV_SHAPES))
def test_csv_shape_gives_the_plain_csv_outputs(base, name):
    d, tables = base
    write_csv(tables, d / name, **CSV_SHAPES[name])
    assert_same_as_plain(d, d / name, name)


def test_parquet_shapes_mixed_across_part_files(base):
    """One table, two part files written by different tools (string ids and float ids;
    DATE and TIMESTAMP dates): still the plain outputs."""
    d, tables = base
    out = d / "mixed"
    write_parquet(tables, out, typed_base)
    header, rows = tables["medical_claim"]
    (out / "medical_claim.parquet").unlink()
    (out / "medical_claim").mkdir()
    half = len(rows) // 2
    float_ids = numeric_ids("float")

    def float_ids_timestamps(c, vals):
        return timestamp("ns")(c, vals) if is_date_col(c) else float_ids(c, vals)

    for i, (part, conv) in enumerate([(rows[:half], typed_base),
                                      (rows[half:], float_ids_timestamps)]):
        arrays = []
        for c in header:
            vals = [r[c] for r in part]
            a = conv(c, vals)
            arrays.append(a if a is not None else pa.array([v or None for v in vals], pa.string()))
        pq.write_table(pa.table(arrays, names=header), out / "medical_claim" / f"part-{i}.parquet")
    assert_same_as_plain(d, out, "mixed")


def test_fractional_ids_and_unparseable_dates_are_rejects_naming_the_value(base):
    d, tables = base
    header, rows = tables["eligibility"]
    out = d / "fractional"
    write_csv(tables, out)
    (out / "eligibility.csv").unlink()
    bad = [dict(r) for r in rows]
    bad[0]["person_id"] = bad[0]["person_id"] + ".5"
    elig = {c: [r[c] for r in bad] for c in header}
    arrays = [pa.array([float(v) for v in elig[c]]) if c == "person_id"
              else pa.array([v or None for v in elig[c]]) for c in header]
    pq.write_table(pa.table(arrays, names=header), out / "eligibility.parquet")
    # A date in a format caregap does not read (US style) stays a reject that names it.
    mh, mrows = tables["medical_claim"]
    mrows = [dict(r) for r in mrows]
    us = date.fromisoformat(mrows[0]["claim_start_date"]).strftime("%m/%d/%Y")
    mrows[0]["claim_start_date"] = us
    write_csv({"medical_claim": (mh, mrows)}, out)
    r = caregap("run", *RUN_ARGS, "--max-reject-rate", "1", "--input", out, "--out", d / "frac_out",
                ok=False)
    assert r.returncode == 0, r.stderr
    rej = pq.read_table(d / "frac_out" / "rejects.parquet").to_pandas()
    pid = rej[(rej["table"] == "eligibility") & (rej["column"] == "person_id")]
    assert len(pid) == 1, rej
    assert "fraction" in pid.iloc[0]["reason"] and pid.iloc[0]["value"].endswith(".5")
    assert pid.iloc[0]["row"] == 1
    dt = rej[(rej["table"] == "medical_claim") & (rej["column"] == "claim_start_date")]
    assert len(dt) == 1 and dt.iloc[0]["value"] == us, rej
    assert "YYYY-MM-DD or YYYYMMDD" in dt.iloc[0]["reason"]


# ---------------------------------------------------------------------------------------------
# Outputs every reader handles.

VIEW_TYPES = (pa.types.is_string_view, pa.types.is_binary_view)


def view_types_in(t: pa.DataType):
    if any(f(t) for f in VIEW_TYPES):
        return [str(t)]
    if hasattr(pa.types, "is_list_view") and (pa.types.is_list_view(t)
                                             or pa.types.is_large_list_view(t)):
        return [str(t)]
    out = []
    for i in range(t.num_fields):
        out += view_types_in(t.field(i).type)
    return out


def check_readable(path: Path):
    schema = pq.read_schema(path)
    bad = {f.name: view_types_in(f.type) for f in schema if view_types_in(f.type)}
    assert bad == {}, f"{path}: view types {bad}"
    table = pq.read_table(path)
    table.to_pandas()
    for f in schema:
        if is_date_col(f.name) or f.name == "month":
            assert pa.types.is_date32(f.type), f"{path}: {f.name} is {f.type}"
    strings = [f.name for f in schema
               if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    if strings and table.num_rows:
        c = strings[0]
        v = table.column(c).drop_null()
        if len(v):
            value = v[0].as_py()
            filtered = pq.read_table(path, filters=[(c, "=", value)])
            assert filtered.num_rows == pc.sum(pc.equal(table.column(c), value)).as_py()
    return table.num_rows


def test_every_parquet_output_is_read_by_pyarrow_and_pandas(tmp_path):
    caregap("synth", "--persons", 600, "--seed", 4, "--out", tmp_path / "in")
    caregap("run", *RUN_ARGS, "--input", tmp_path / "in", "--out", tmp_path / "out")
    caregap("partition", "--input", tmp_path / "in", "--out", tmp_path / "bucketed",
            "--buckets", 2)
    run_args = [a for a in RUN_ARGS if a not in ("--buckets", "1")]
    caregap("run", *run_args, "--input", tmp_path / "bucketed", "--bucket", 0,
            "--out", tmp_path / "partial0")
    files = sorted(p for p in tmp_path.rglob("*.parquet"))
    groups = {g: [f for f in files if f.relative_to(tmp_path).parts[0] == g]
              for g in ["in", "out", "partial0", "bucketed"]}
    assert all(groups.values()), {g: len(v) for g, v in groups.items()}
    for name in ["care_gaps", "worklist", "eligibility", "conditions", "measure_summary",
                 "utilization_monthly", "cost_effectiveness", "rejects"]:
        assert (tmp_path / "out" / f"{name}.parquet").exists(), name
    rows = {str(f.relative_to(tmp_path)): check_readable(f) for f in files}
    assert rows["out/care_gaps.parquet"] > 0
    # The list column of the worklist converts to pandas as lists of Python strings.
    wl = pq.read_table(tmp_path / "out" / "worklist.parquet").to_pandas()
    assert len(wl) > 0
    gaps = pq.read_table(tmp_path / "out" / "care_gaps.parquet",
                         filters=[("measure", "=", "cbp")])
    assert gaps.num_rows > 0 and set(gaps.column("measure").to_pylist()) == {"cbp"}
