#!/usr/bin/env python3
"""Writes crates/transform/value_sets/*.csv from the open value sets of
shared/spec/measures.md v1.3 (§1, §2). Ranges such as F20-F69 or 99202-99215 are expanded into
the explicit codes (or, for ICD-10-CM, prefixes) they cover, so each file has the same shape as a
user's override CSV: value_set,code_system,code. Rerun after a spec change; the CSVs are the
data the binary embeds."""
import os, re

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "transform", "value_sets")

def rng(a, b):
    """Expand 'F20'-'F69', '99202'-'99215', 'H0001'-'H0050' (same alpha prefix, numeric tail)."""
    m1, m2 = re.match(r"^([A-Z]*)(\d+)$", a), re.match(r"^([A-Z]*)(\d+)$", b)
    assert m1 and m2 and m1.group(1) == m2.group(1), (a, b)
    w = len(m1.group(2)); assert w == len(m2.group(2))
    return [f"{m1.group(1)}{i:0{w}d}" for i in range(int(m1.group(2)), int(m2.group(2)) + 1)]

def expand(spec):
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part: continue
        if "-" in part and not re.match(r"^\d+-\d$", part):
            a, b = part.split("-"); out += rng(a, b)
        else:
            out.append(part)
    return out

ICD = "icd-10-cm"
SETS = {
  "mental_illness": [(ICD, "F20-F69, F80-F99, X71-X83, T1491")],
  "serious_mental_illness": [(ICD, "F20-F29, F30, F31, F322, F323, F33")],
  "substance_use_disorder": [(ICD, "F10-F16, F18, F19")],
  "asthma": [(ICD, "J45")],
  "diabetes": [(ICD, "E08, E09, E10, E11, E13")],
  "cardiovascular": [(ICD, "I10-I16, I20-I25, I48, I50, I63")],
  "hypertension": [(ICD, "I10-I16")],
  "overweight": [(ICD, "E66, Z6825-Z6845, Z6854")],
  "developmental_disability": [(ICD, "F70-F79, F84, F88, F89, Q90, G80")],
  "smoking": [(ICD, "F172, Z720"), ("hcpcs", "99406, 99407, 4004F"),
              ("snomed-ct", "449868002, 428041000124106, 77176002, 65568007"),
              ("text", "Every day smoker|Some day smoker|Current every day smoker|Current some day smoker|Smoker, current status unknown|Heavy tobacco smoker|Light tobacco smoker")],
  "schizophrenia_bipolar": [(ICD, "F20, F25, F30, F31")],
  "pregnancy": [(ICD, "O00-O99, O9A, Z33, Z34")],
  "esrd": [(ICD, "N186, Z992")],
  "hospice": [("hcpcs", "G9473-G9479, Q5003-Q5010, S9126, T2042-T2046"),
              ("revenue", "0115, 0125, 0135, 0145, 0155, 0235, 0650-0659"),
              ("bill_type", "81, 82")],
  "ed_visit": [("revenue", "0450-0459, 0981"), ("pos", "23"), ("hcpcs", "99281-99285")],
  "outpatient_visit": [("hcpcs", "99202-99215, 99341-99350, 99381-99397, 99401-99404, 99411-99412, 99421-99423, 99441-99443, 99483, 99492-99494, 99495-99496, G0402, G0438, G0439, G0463, T1015"),
                       ("revenue", "0510-0529, 0982-0983")],
  "mh_visit": [("hcpcs", "90791, 90792, 90832-90840, 90845-90853, 90870, 99492-99494, H0002, H0004, H0031, H0034-H0037, H0039, H0040, H2000, H2010-H2020, G0155, G0176, G0177, G0409-G0411"),
               ("pos", "53, 52")],
  "mh_telehealth": [("pos", "02, 10")],
  "fua_service": [("hcpcs", "H0001-H0050, H2034-H2036")],
  "glucose_test": [("loinc", "2345-7"), ("hcpcs", "82947, 82950, 82951")],
  "hba1c": [("loinc", "4548-4, 4549-2, 17856-6")],
  "hba1c_test": [("hcpcs", "83036, 83037")],
  "bp_systolic": [("loinc", "8480-6")],
  "bp_diastolic": [("loinc", "8462-4")],
  "bmi": [("loinc", "39156-5")],
  "tobacco_status": [("loinc", "72166-2")],
  # Placeholder NDC lists (shared/cases/assumed_ndc_lists.csv): real programs supply full lists.
  "antipsychotic": [("ndc", "00000000001, 00000000002, 00000000003"),
                    ("hcpcs", "J0401, J1631, J2358, J2426, J2680, J2794")],
  "diabetes_medication": [("ndc", "00000000101, 00000000102, 00000000103")],
  # OUD-HH and FUA-HH (docs/measures/oud.md §5, fua.md). The NDC sets (oud_buprenorphine,
  # oud_naltrexone_oral, oud_naltrexone_injectable, oud_methadone_otp, iet_aud_medication)
  # are cut from the FDA NDC Directory by tools/cut_oud_ndc.py, not written here.
  "oud_diagnosis": [(ICD, "F11")],
  "oud_buprenorphine_hcpcs": [("hcpcs", "J0570-J0575, J0577, J0578, Q9991, Q9992, G2068-G2070, G2072, G2079")],
  "oud_naltrexone_injectable_hcpcs": [("hcpcs", "J2315, G2073")],
  "oud_methadone_hcpcs": [("hcpcs", "H0020, S0109, G2067, G2078")],
}

# drug_overdose (fua.md): ICD-10-CM T36-T50 (poisoning by drugs, medicaments and biological
# substances) whose 6th character, the intent, is 1 (accidental/unintentional), as 6-character
# prefixes: category, 4th character 0-9 or A, B, Z (T50.A-, T50.B-, T50.Z- vaccines), 5th
# character 0-9 or X. Prefixes that name no code in the tabular match nothing.
SETS["drug_overdose"] = [(ICD, ", ".join(
    f"T{cat}{c4}{c5}1" for cat in range(36, 51) for c4 in "0123456789ABZ" for c5 in "0123456789X"))]

# SNOMED CT concepts (exact codes) for the same value sets: the codes the Synthea sample and the
# OMOP Eunomia Synthea27Nj sample in shared/data use, plus the core Synthea disease-module codes
# of the same conditions, each chosen by concept meaning to match the ICD-10-CM definition
# above. RxNorm: none of the two datasets' medications is an antipsychotic or a diabetes
# medication, so no RxNorm code is shipped; a program adds them by override (system rxnorm).
SNOMED = {
  "mental_illness": "80583007, 58214004, 191736004, 13746004, 370143000, 36923009, 35489007, 197480006, 47505003, 268621008",
  "serious_mental_illness": "58214004, 191736004, 13746004, 268621008",
  "schizophrenia_bipolar": "58214004, 191736004, 13746004",
  "substance_use_disorder": "361055000, 7200002, 5602001, 6525002",
  "asthma": "233678006, 195967001",
  "diabetes": "44054006, 46635009, 73211009",
  "hypertension": "59621000, 38341003",
  "cardiovascular": "59621000, 38341003, 53741008, 22298006, 399211009, 230690007, 88805009, 84114007, 49436004",
  "overweight": "162864005, 408512008, 162863004",
  "developmental_disability": "408856003, 35919005, 110359009",
  "pregnancy": "72892002, 398254007, 198992004, 19169002, 156073000, 35999006, 47200007",
  "esrd": "46177005, 105502003",
}
for name, codes_ in SNOMED.items():
    SETS[name] = SETS[name] + [("snomed-ct", codes_)]

def codes(system, spec):
    if system == "text":
        return spec.split("|")
    if system in ("loinc", "snomed-ct"):
        return [c.strip() for c in spec.split(",")]
    return expand(spec)

os.makedirs(OUT, exist_ok=True)
for name, parts in SETS.items():
    rows = []
    for system, spec in parts:
        for c in codes(system, spec):
            rows.append((name, system, c))
    with open(os.path.join(OUT, f"{name}.csv"), "w") as f:
        f.write("value_set,code_system,code\n")
        for r in rows:
            v = r[2]
            if "," in v: v = '"' + v + '"'
            f.write(f"{r[0]},{r[1]},{v}\n")
print(f"wrote {len(SETS)} value sets to {os.path.normpath(OUT)}")
