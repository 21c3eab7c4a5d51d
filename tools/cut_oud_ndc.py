#!/usr/bin/env python3
"""Cut caregap's OUD / AUD medication NDC value sets from the FDA NDC Directory.

Starts from the ingredient names (INGREDIENTS below) and the product and package files of
the FDA National Drug Code Directory (public domain), classifies each finished prescription
product by route and dosage form, and writes one value-set CSV per set
(`value_set,code_system,code`, 11-digit package NDCs, sorted) into
crates/transform/value_sets/. Standard library only; rerun it on a newer directory and keep the
union (`--union` keeps the NDCs already in the CSVs, so discontinued products still match old
claims).

    python3 tools/cut_oud_ndc.py [SOURCE_DIR] [--union]

SOURCE_DIR holds `product*.tsv`/`product.txt` and `package*.tsv`/`package.txt` (default:
../shared/data/ndc, the subset of the 2019-04-29 directory cut by its extract.py, which keeps
every product naming these ingredients). Which sets, and why (docs/measures/oud.md §5):

- `oud_buprenorphine`: buprenorphine sublingual tablets, buprenorphine/naloxone sublingual or
  buccal tablets and films, extended-release subcutaneous injection (Sublocade, Brixadi) and
  the implant (Probuphine). Left out: the pain products — transdermal patches (Butrans),
  buprenorphine-only buccal film (Belbuca) and intramuscular/intravenous injection (Buprenex).
- `oud_naltrexone_oral`: naltrexone alone, by mouth. Left out: combinations (Embeda, Contrave,
  a naltrexone/triamcinolone implant).
- `oud_naltrexone_injectable`: naltrexone extended-release injectable suspension (Vivitrol; a
  kit has no route).
- `oud_methadone_otp`: methadone in the dosage forms opioid treatment programs dispense —
  oral concentrate and dispersible tablets (Methadose Dispersible, Diskets). Ordinary tablets,
  solutions and injections are mostly pain treatment and are left out.
- `iet_aud_medication`: acamprosate, disulfiram and naltrexone alone (oral or extended-release
  injectable) — the alcohol-use-disorder drugs FUA-HH and IET count.

Naloxone alone is not treatment and is never an ingredient here (buprenorphine/naloxone is
matched by its buprenorphine). The directory date is printed and recorded in
crates/transform/value_sets/README.md.
"""
import csv
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "crates", "transform", "value_sets")
DEFAULT_SOURCE = os.path.join(ROOT, "..", "shared", "data", "ndc")

# The ingredients each set starts from (FDA SUBSTANCENAME words).
INGREDIENTS = {
    "BUPRENORPHINE": "buprenorphine",
    "NALTREXONE": "naltrexone",
    "METHADONE": "methadone",
    "ACAMPROSATE": "acamprosate",
    "DISULFIRAM": "disulfiram",
}
SETS = [
    "oud_buprenorphine",
    "oud_naltrexone_oral",
    "oud_naltrexone_injectable",
    "oud_methadone_otp",
    "iet_aud_medication",
]


def words(s):
    return set(re.findall(r"[A-Z]+", s.upper()))


def substances(p):
    """SUBSTANCENAME, else (a kit lists none) NONPROPRIETARYNAME."""
    return (p["SUBSTANCENAME"] or p["NONPROPRIETARYNAME"].replace(" and ", ";")).upper()


def classify(p):
    """The sets a product belongs to, and a note when it is left out."""
    subs = [s.strip() for s in substances(p).split(";") if s.strip()]
    ings = {INGREDIENTS[w] for s in subs for w in words(s) if w in INGREDIENTS}
    others = [s for s in subs if not any(w in INGREDIENTS for w in words(s))]
    route = p["ROUTENAME"].upper()
    form = p["DOSAGEFORMNAME"].upper()
    name = (p["PROPRIETARYNAME"] + " " + p["NONPROPRIETARYNAME"]).upper()
    if p["PRODUCTTYPENAME"].upper() != "HUMAN PRESCRIPTION DRUG":
        return [], "not a prescription drug"
    if "buprenorphine" in ings:
        naloxone_only_other = all("NALOXONE" in s for s in others)
        if others and not naloxone_only_other:
            return [], "buprenorphine combination other than with naloxone"
        if others:  # buprenorphine/naloxone: sublingual or buccal tablets and films
            return ["oud_buprenorphine"], ""
        if "SUBLINGUAL" in route or (route == "ORAL" and form.startswith("TABLET")):
            return ["oud_buprenorphine"], ""
        if "IMPLANT" in form:
            return ["oud_buprenorphine"], ""
        if route == "SUBCUTANEOUS":
            return ["oud_buprenorphine"], ""
        return [], "buprenorphine pain product (transdermal, buccal film or injection)"
    if "naltrexone" in ings:
        if others:
            return [], "naltrexone combination"
        if "INTRAMUSCULAR" in route or "KIT" in form or "INJECT" in form:
            return ["oud_naltrexone_injectable", "iet_aud_medication"], ""
        if route == "ORAL":
            return ["oud_naltrexone_oral", "iet_aud_medication"], ""
        return [], "naltrexone by another route"
    if "methadone" in ings:
        if others:
            return [], "methadone combination"
        otp = ("CONCENTRATE" in form or "SOLUBLE" in form or "FOR SUSPENSION" in form
               or "DISPERSIBLE" in name or "DISKETS" in name)
        if otp and route == "ORAL":
            return ["oud_methadone_otp"], ""
        return [], "methadone tablet, solution, powder or injection (mostly pain)"
    if ings & {"acamprosate", "disulfiram"}:
        if others:
            return [], "combination"
        return ["iet_aud_medication"], ""
    return [], "no listed ingredient"


def ndc11(code):
    parts = code.split("-")
    if len(parts) != 3 or not all(x.isdigit() for x in parts):
        return ""
    a, b, c = parts
    if (len(a), len(b), len(c)) == (4, 4, 2):
        a = "0" + a
    elif (len(a), len(b), len(c)) == (5, 3, 2):
        b = "0" + b
    elif (len(a), len(b), len(c)) == (5, 4, 1):
        c = "0" + c
    elif (len(a), len(b), len(c)) != (5, 4, 2):
        return ""
    return a + b + c


def read_tsv(path):
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def find(src, stem):
    for pat in (f"{stem}_subset.tsv", f"{stem}.txt", f"{stem}*.tsv"):
        hits = sorted(glob.glob(os.path.join(src, pat)))
        if hits:
            return hits[0]
    sys.exit(f"no {stem} file in {src}")


def main(argv):
    union = "--union" in argv
    args = [a for a in argv if not a.startswith("--")]
    src = args[0] if args else DEFAULT_SOURCE
    products = read_tsv(find(src, "product"))
    packages = read_tsv(find(src, "package"))
    latest = max((p["STARTMARKETINGDATE"] for p in products if p["STARTMARKETINGDATE"]),
                 default="?")
    by_product = {}
    left_out = {}
    for p in products:
        sets, note = classify(p)
        if not any(w in INGREDIENTS for w in words(substances(p))):
            continue
        if sets:
            by_product[p["PRODUCTID"]] = sets
        else:
            left_out[note] = left_out.get(note, 0) + 1
    codes = {s: set() for s in SETS}
    for k in packages:
        for s in by_product.get(k["PRODUCTID"], []):
            n = ndc11(k["NDCPACKAGECODE"])
            if n:
                codes[s].add(n)
    for s in SETS:
        path = os.path.join(OUT, f"{s}.csv")
        if union and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    if row["code_system"] == "ndc":
                        codes[s].add(row["code"])
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("value_set,code_system,code\n")
            for c in sorted(codes[s]):
                f.write(f"{s},ndc,{c}\n")
        print(f"{s}: {len(codes[s])} NDCs")
    for note, n in sorted(left_out.items()):
        print(f"left out ({n} products): {note}")
    print(f"directory: latest STARTMARKETINGDATE {latest}")


if __name__ == "__main__":
    main(sys.argv[1:])
