//! The harness's own tests, as trials named `selftest/…`: that it can fail. The story they
//! run, `selftest/story`, lives outside the walked roots; each test copies it to a temporary
//! folder, writes an `expected.csv` (good or broken) there, and runs it.

use std::fs;
use std::path::{Path, PathBuf};

use libtest_mimic::{Failed, Trial};

use crate::facts::{matches, Compare};
use crate::story::{run_story, Report, Root, Settings};

const HEADER: &str = "output,person_id,measure,index_date,key,field,expected,compare,run\n";

/// The self-test story copied into a fresh temporary folder, with `expected` as its facts.
fn story_with(expected: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/selftest/story");
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let dir = tmp.path().join("story");
    fs::create_dir(&dir).unwrap();
    for e in fs::read_dir(&src).unwrap().flatten() {
        fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    fs::write(dir.join("expected.csv"), expected).unwrap();
    (tmp, dir)
}

const ONE_PASS: Settings = Settings {
    bless: false,
    bucketed: false,
};

/// `report` failed with exactly the messages `want` (each a part of one failure line), in order.
fn fails_with(report: &Report, want: &[&str]) -> Result<(), Failed> {
    let got = &report.failures;
    let mismatch = || {
        Err(Failed::from(format!(
            "wanted failures containing\n  {}\ngot\n  {}",
            want.join("\n  "),
            got.join("\n  ")
        )))
    };
    if got.len() != want.len() {
        return mismatch();
    }
    for (g, w) in got.iter().zip(want) {
        if !g.contains(w) {
            return mismatch();
        }
    }
    Ok(())
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(Failed::from(what()))
    }
}

/// The story as it is holds, in one pass and in buckets.
fn good_story_passes() -> Result<(), Failed> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/selftest/story");
    let (_tmp, dir) = story_with(&fs::read_to_string(src.join("expected.csv")).unwrap());
    let r = run_story(
        &dir,
        Root::Ours,
        Settings {
            bless: false,
            bucketed: true,
        },
    );
    fails_with(&r, &[])?;
    check(r.passed == 4, || format!("4 facts hold, not {}", r.passed))?;
    check(r.range_split, || "two persons split into two ranges".into())
}

/// Misspelled names and a wrong value each fail the story with a message naming the file, the
/// line, the unknown name and the nearest known one.
fn misspelled_names_fail() -> Result<(), Failed> {
    let (_tmp, dir) = story_with(&format!(
        "{HEADER}\
         eligibility,S1,,,,eligible,true,,default\n\
         eligibilty,S1,,,,eligible,true,,default\n\
         eligibility,S1,,,,eligble,true,,default\n\
         eligibility,S1,,,,track,cmhc,,default\n\
         measure_summary,,fuh_7,,grup_type=overall,denominator,0,,default\n\
         data_quality,,,,item=rows_rejectd;table=medical_claim,value,0,,default\n\
         coverage_check,,,,item=eligibility_rows_covered,valeu,2,,default\n\
         eligibility,S2,,,,eligible,true,,default\n\
         eligibility,,,,,row_count,3,,default\n"
    ));
    let r = run_story(&dir, Root::Ours, ONE_PASS);
    fails_with(
        &r,
        &[
            "expected.csv:3 [eligibilty S1 eligible]: unknown output `eligibilty` (did you mean `eligibility`?): the run writes ",
            "expected.csv:4 [eligibility S1 eligble]: eligibility has no column `eligble` (did you mean `eligible`?)",
            "expected.csv:6 [measure_summary fuh_7 grup_type=overall denominator]: measure_summary has no column `grup_type` (did you mean `group_type`?)",
            "expected.csv:7 [data_quality item=rows_rejectd;table=medical_claim value]: run_manifest.json has no data_quality item `rows_rejectd` (did you mean `rows_rejected`?)",
            "expected.csv:8 [coverage_check item=eligibility_rows_covered valeu]: the field of a coverage_check fact is `value`, not `valeu`",
            "expected.csv:9 [eligibility S2 eligible]: eligible: expected true, found false",
            "expected.csv:10 [eligibility row_count]: row_count: expected 3, found 2",
        ],
    )?;
    // Line 2 and line 5 (S1 is on the cmhc track) hold.
    check(r.passed == 2, || format!("2 facts hold, not {}", r.passed))
}

/// A malformed file fails before anything runs: unknown columns, keys, compare modes, runs.
fn malformed_files_fail() -> Result<(), Failed> {
    let (_tmp, dir) = story_with(
        "output,person_id,measure,index_date,key,field,expeted,compare,run\n\
         eligibility,S1,,,,eligible,true,,default\n",
    );
    fails_with(
        &run_story(&dir, Root::Ours, ONE_PASS),
        &[
            "expected.csv:1: unknown column `expeted` (did you mean `expected`?)",
            "expected.csv:1: no `expected` column",
        ],
    )?;
    let (_tmp, dir) = story_with(&format!(
        "{HEADER}\
         eligibility,S1,,,group_type,eligible,true,,default\n\
         eligibility,S1,,,,eligible,true,contain,default\n\
         eligibility,S1,,,,eligible,true,abs:x,default\n"
    ));
    fails_with(
        &run_story(&dir, Root::Ours, ONE_PASS),
        &[
            "expected.csv:2: key `group_type` is not `name=value`",
            "expected.csv:3: unknown compare `contain` (did you mean `contains`?)",
            "expected.csv:4: compare `abs:x`: the tolerance is not a number",
        ],
    )?;
    let (_tmp, dir) = story_with(&format!(
        "{HEADER}\
         eligibility,S1,,,,eligible,true,,defualt\n\
         eligibility,S1,,,,row_exists,yes,,default\n"
    ));
    fails_with(
        &run_story(&dir, Root::Ours, ONE_PASS),
        &["expected.csv:2 [eligibility S1 eligible]: run `defualt` is not in runs.csv (did you mean `default`?) (runs: default)"],
    )?;
    let (_tmp, dir) = story_with(&format!(
        "{HEADER}eligibility,S1,,,,row_exists,yes,,default\n"
    ));
    fails_with(
        &run_story(&dir, Root::Ours, ONE_PASS),
        &["expected.csv:2 [eligibility S1 row_exists]: row_exists expects `true` or `false`, not `yes`"],
    )?;
    let (_tmp, dir) = story_with(HEADER);
    fails_with(
        &run_story(&dir, Root::Ours, ONE_PASS),
        &["the story asserts nothing"],
    )
}

/// `BLESS=1` rewrites exactly the failing facts of our stories, to what the run produced, and
/// keeps every other byte; what it cannot bless stays a failure.
fn bless_rewrites_only_failing_facts() -> Result<(), Failed> {
    let before = format!(
        "{HEADER}\
         # a comment stays\n\
         \n\
         eligibility,S1,,,,rules,\"[\"\"two_chronic\"\"]\",,default\n\
         eligibility,S1,,,,eligible,true,,default\n\
         eligibility,S2,,,,eligible,true,,default\n\
         eligibility,,,,,row_count,3,,default\n\
         eligibility,S9,,,,eligible,true,,default\n\
         eligibility,S1,,,,conditions,asthma,contains,default\n\
         eligibility,S1,,,,eligble,true,,default\n"
    );
    let (_tmp, dir) = story_with(&before);
    let r = run_story(
        &dir,
        Root::Ours,
        Settings {
            bless: true,
            bucketed: false,
        },
    );
    fails_with(
        &r,
        &[
            "expected.csv:8 [eligibility S9 eligible]: no eligibility row matches (not blessed",
            "expected.csv:9 [eligibility S1 conditions]: conditions: expected asthma (Contains), found",
            "expected.csv:10 [eligibility S1 eligble]: eligibility has no column `eligble`",
        ],
    )?;
    let after = fs::read_to_string(dir.join("expected.csv")).unwrap();
    let want = before
        .replace(
            "rules,\"[\"\"two_chronic\"\"]\"",
            "rules,\"[\"\"spmi\"\"]\"",
        )
        .replace("S2,,,,eligible,true", "S2,,,,eligible,false")
        .replace("row_count,3", "row_count,2");
    check(after == want, || {
        format!("after blessing:\n{after}\nwanted:\n{want}")
    })?;
    check(
        r.blessed.len() == 3
            && r.blessed[0]
                .contains("expected.csv:4 [eligibility S1 rules]: [\"two_chronic\"] -> [\"spmi\"]"),
        || format!("3 blessed, the first on line 4: {:?}", r.blessed),
    )?;
    // Blessed, the story holds (but for what could not be blessed).
    let again = run_story(&dir, Root::Ours, ONE_PASS);
    check(again.failures.len() == 3 && again.passed == 4, || {
        format!("after blessing: {again:?}")
    })?;

    // CRLF line ends stay CRLF, on the blessed row too.
    let before =
        format!("{HEADER}eligibility,S2,,,,eligible,true,,default\n# end\n").replace('\n', "\r\n");
    let (_tmp, dir) = story_with(&before);
    let r = run_story(
        &dir,
        Root::Ours,
        Settings {
            bless: true,
            bucketed: false,
        },
    );
    fails_with(&r, &[])?;
    let after = fs::read_to_string(dir.join("expected.csv")).unwrap();
    let want = before.replace("S2,,,,eligible,true", "S2,,,,eligible,false");
    check(after == want, || {
        format!("after blessing:\n{after:?}\nwanted:\n{want:?}")
    })
}

/// The reference stories are never rewritten: a failing fact stays a failure that says so.
fn bless_refuses_the_reference() -> Result<(), Failed> {
    let before = format!("{HEADER}eligibility,S2,,,,eligible,true,,default\n");
    let (_tmp, dir) = story_with(&before);
    let r = run_story(
        &dir,
        Root::Reference,
        Settings {
            bless: true,
            bucketed: false,
        },
    );
    fails_with(
        &r,
        &["eligible: expected true, found false (not blessed: BLESS=1 never rewrites ../shared/cases"],
    )?;
    let after = fs::read_to_string(dir.join("expected.csv")).unwrap();
    check(after == before, || {
        format!("the reference was rewritten:\n{after}")
    })
}

fn compare_rules() -> Result<(), Failed> {
    let cases: &[(&str, &str, Compare, bool)] = &[
        ("0.5", "0.5", Compare::Exact, true),
        ("0.50000000001", "0.5", Compare::Exact, true),
        ("0.6", "0.5", Compare::Exact, false),
        (
            "[\"two_chronic\",\"one_chronic_at_risk\"]",
            "[\"two_chronic\", \"one_chronic_at_risk\"]",
            Compare::Exact,
            true,
        ),
        (
            "[\"one_chronic_at_risk\",\"two_chronic\"]",
            "[\"two_chronic\", \"one_chronic_at_risk\"]",
            Compare::Exact,
            false,
        ),
        ("[\"a\",\"b\"]", "b", Compare::Contains, true),
        ("[\"a\",\"b\"]", "c", Compare::NotContains, true),
        ("10.04", "10", Compare::Abs(0.05), true),
        ("10.1", "10", Compare::Abs(0.05), false),
        ("100.5", "100", Compare::Rel(0.01), true),
        ("102", "100", Compare::Rel(0.01), false),
    ];
    for (actual, expected, compare, want) in cases {
        check(matches(actual, expected, compare) == *want, || {
            format!("matches({actual}, {expected}, {compare:?}) should be {want}")
        })?;
    }
    Ok(())
}

/// The self-test trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("selftest/good_story_passes", good_story_passes),
        Trial::test("selftest/misspelled_names_fail", misspelled_names_fail),
        Trial::test("selftest/malformed_files_fail", malformed_files_fail),
        Trial::test(
            "selftest/bless_rewrites_only_failing_facts",
            bless_rewrites_only_failing_facts,
        ),
        Trial::test(
            "selftest/bless_refuses_the_reference",
            bless_refuses_the_reference,
        ),
        Trial::test("selftest/compare_rules", compare_rules),
    ]
}
