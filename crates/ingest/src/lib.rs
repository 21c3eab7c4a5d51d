//! # caregap-ingest
//!
//! Owns reading the input layer (`shared/spec/input-layer.md`): finding each table's files,
//! checking its columns, parsing and normalising every value as spec §8 says, and sending
//! every row that fails a check to `rejects` with the table, file, row, column and reason.
//!
//! It computes nothing: no measure, no eligibility, no aggregate. What comes out is the input
//! as typed, normalised polars frames, plus what was rejected and the facts about each file
//! (rows, SHA-256, column aliases) that the run manifest records.
//!
//! ```text
//! input folder ──▶ locate (T.csv | T.parquet | T/part-* | T/bucket=<i>/) ──▶ source ──▶ check
//!                    flat: whole input · partition: a hash bucket · ranges: a person range
//!                                                         accepted rows ◀──┴──▶ rejects
//! ```
//!
//! Before polars parses a row, each file's structure is checked in the pass that takes its
//! SHA-256 ([`structure`]); after parsing, values are checked for sense ([`sense`]).
//!
//! ## Modules, by job
//!
//! Each line uses only the lines below it, so no module imports another in a cycle (the test
//! `modules_only_use_modules_below_them` keeps it so):
//!
//! ```text
//! read                    the API: read_input_layer{,_in,_range}, validate
//! source::flat            source: the whole input folder
//! source::partition       source: a hash-partition bucket (and writing that layout)
//! source::ranges          source: a person-id range read in place (and planning the ranges)
//! source                  scanning one file: spec columns as text or native, `__file`/`__row`
//! check, check::normalise checking: a file's bytes and columns, §8 normalisation, row checks
//!                         → accepted rows + rejects
//! locate                  locating: a table's files (names, endings, any case, part folders,
//!                         bucket folders)
//! layer                   the types: InputLayer, Table, SourceFile, Layout
//! sense, error, structure, shapes, schema, portable       leaves
//! ```

#![deny(missing_docs)]

pub mod check;
pub mod error;
pub mod layer;
pub mod locate;
pub mod portable;
pub mod read;
pub mod schema;
pub mod sense;
pub mod shapes;
pub mod source;
pub mod structure;

pub use source::{partition, ranges};

/// `caregap validate`: every problem in one pass.
pub mod validate {
    pub use crate::read::{validate, ValidationReport};
}

pub use error::IngestError;
pub use read::{
    read_input_layer, read_input_layer_in, read_input_layer_range, InputLayer, Layout, SourceFile,
    Table,
};

#[cfg(test)]
mod tests {
    /// Every module with the rank of its line in the drawing above (a higher line uses lower
    /// ones) and its source.
    const MODULES: &[(&str, u32, &str)] = &[
        ("portable", 0, include_str!("portable.rs")),
        ("schema", 0, include_str!("schema.rs")),
        ("shapes", 1, include_str!("shapes.rs")),
        ("structure", 2, include_str!("structure.rs")),
        ("error", 3, include_str!("error.rs")),
        ("sense", 3, include_str!("sense.rs")),
        ("layer", 4, include_str!("layer.rs")),
        ("locate", 5, include_str!("locate.rs")),
        ("check", 6, include_str!("check.rs")),
        ("check::normalise", 6, include_str!("check/normalise.rs")),
        ("source", 7, include_str!("source.rs")),
        ("source::flat", 8, include_str!("source/flat.rs")),
        ("source::partition", 8, include_str!("source/partition.rs")),
        ("source::ranges", 8, include_str!("source/ranges.rs")),
        ("read", 9, include_str!("read.rs")),
    ];

    #[test]
    fn modules_only_use_modules_below_them() {
        let rank = |m: &str| MODULES.iter().find(|x| x.0 == m).map(|x| x.1);
        for (name, r, text) in MODULES {
            let code = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for (i, _) in code.match_indices("crate::") {
                let used: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                let Some(u) = rank(&used) else {
                    panic!("{name} uses crate::{used}, which the module drawing does not list")
                };
                let child = name.starts_with(&format!("{used}::"));
                assert!(
                    u < *r || child,
                    "{name} (line {r}) uses crate::{used} (line {u}): an import against the flow"
                );
            }
        }
    }
}
