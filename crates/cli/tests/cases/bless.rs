//! `BLESS=1`: rewrite the `expected` cell of failing facts in place. Only the records of the
//! blessed facts change, each re-encoded with minimal CSV quoting (as the files are written);
//! every other byte of the file (other rows, comments, line ends) stays as it was, so
//! `git diff` shows exactly the facts that changed.

use std::fs;
use std::path::Path;

use crate::facts::Fact;

/// One record as CSV text, minimal quoting, no terminator.
fn encode(record: &[String]) -> String {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(record).expect("writing to memory");
    let bytes = w.into_inner().expect("writing to memory");
    String::from_utf8(bytes)
        .expect("the record was text")
        .trim_end_matches('\n')
        .to_string()
}

/// Set the `expected` of each fact in `edits` (facts of the file at `path`) to its new value.
pub fn rewrite(path: &Path, edits: &[(&Fact, String)]) -> std::io::Result<()> {
    let mut text = fs::read_to_string(path)?;
    let mut edits: Vec<&(&Fact, String)> = edits.iter().collect();
    // From the end, so that the byte positions of the records still to edit stay valid.
    edits.sort_by_key(|(f, _)| std::cmp::Reverse(f.span.0));
    for (f, value) in edits {
        let mut record = f.record.clone();
        record[f.expected_col] = value.clone();
        text.replace_range(f.span.0..f.span.1, &encode(&record));
    }
    // Write beside and rename, so that an interrupted bless never leaves half a file.
    let tmp = path.with_extension("csv.blessing");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}
