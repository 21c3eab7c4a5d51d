//! The structure of an input file, checked before polars parses a row of it.
//!
//! polars reads what it can and guesses the rest: a CSV row with fewer fields than the header
//! is filled with nulls, one with more is an error only when every column is read (so one pass
//! kept it and a hash partition failed on it), a header naming a column twice silently renames
//! the second copy `…_duplicated_0`, and an unbalanced quote swallows the rest of the file into
//! one field whose text (member rows) then fills the error message. So every file is checked
//! here first: its kind, magic bytes and header when it is opened, its rows in the pass that
//! takes its SHA-256 (one read of the bytes, before polars reads a row in any run mode):
//!
//! - the path is a regular file (not a FIFO, socket, device or broken link: [`entry_kind`]);
//! - a Parquet file starts and ends with the `PAR1` magic, and its footer places every row
//!   group inside the file ([`check_parquet_ranges`]); a CSV file is not Parquet bytes;
//! - a CSV header is UTF-8 and names no spec column twice ([`header_of`], read before the
//!   columns are checked);
//! - every CSV row has as many fields as the header (a blank line is a row of nulls, as polars
//!   reads it, rejected for its missing values); no quote is left open at the end of the file;
//!   the file holds no NUL byte (the mark of a damaged or preallocated file).
//!
//! Fields are split as polars' CSV reader splits lines: a `"` toggles quoting wherever it
//! appears, and separators and line ends inside quotes belong to the field. Problems name the
//! file, the data row (1-based, counted within the file) and the line; never the content.

use std::fs;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::SystemTime;

use polars::io::utils::compression::{ByteSourceReader, SupportedCompression};
use polars::prelude::{ParquetReader, PolarsResult, SerReader};
use sha2::{Digest, Sha256};

use crate::shapes::Format;

/// What a path of the input folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Nothing by that name.
    Absent,
    /// A regular file (or a symbolic link to one).
    File,
    /// A folder (or a link to one).
    Dir,
    /// Something caregap cannot read as a table: a FIFO, socket, device or broken link.
    Other(&'static str),
}

/// What `p` is, following symbolic links; a broken link is [`EntryKind::Other`].
pub fn entry_kind(p: &Path) -> EntryKind {
    let Ok(link) = fs::symlink_metadata(p) else {
        return EntryKind::Absent;
    };
    let meta = match fs::metadata(p) {
        Ok(m) => m,
        Err(_) if link.file_type().is_symlink() => {
            return EntryKind::Other("a broken symbolic link")
        }
        Err(_) => return EntryKind::Other("unreadable"),
    };
    let ft = meta.file_type();
    if ft.is_file() {
        EntryKind::File
    } else if ft.is_dir() {
        EntryKind::Dir
    } else {
        EntryKind::Other(other_kind(&ft))
    }
}

#[cfg(unix)]
fn other_kind(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn other_kind(_: &fs::FileType) -> &'static str {
    "not a regular file"
}

/// A file's size and modification time, to notice a file that changes while it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time, where the file system gives one.
    pub modified: Option<SystemTime>,
}

impl Stamp {
    /// The stamp of `path` now.
    pub fn of(path: &Path) -> std::io::Result<Stamp> {
        let m = fs::metadata(path)?;
        Ok(Stamp {
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

/// The first bytes of a Parquet file, and its last.
const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Check the magic bytes of a file before polars opens it: a Parquet file starts and ends with
/// `PAR1` and is at least 12 bytes; a CSV file does not start with `PAR1`.
pub fn check_magic(path: &Path, format: Format) -> std::io::Result<Option<String>> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head)?;
    let starts = n == 4 && &head == PARQUET_MAGIC;
    Ok(match format {
        Format::Csv(_) if starts => {
            Some("the file holds Parquet bytes under a CSV name; rename it to .parquet".into())
        }
        Format::Csv(_) => None,
        Format::Parquet => {
            let mut tail = [0u8; 4];
            if len >= 12 {
                use std::io::{Seek, SeekFrom};
                f.seek(SeekFrom::End(-4))?;
                read_up_to(&mut f, &mut tail)?;
            }
            if starts && len >= 12 && &tail == PARQUET_MAGIC {
                None
            } else if starts {
                Some(format!(
                    "not a complete Parquet file ({len} bytes, no `PAR1` footer): truncated or still being written"
                ))
            } else {
                Some("not a Parquet file (it does not start with `PAR1`)".into())
            }
        }
    })
}

/// Check that a Parquet file's footer places every row group and column chunk inside the
/// file. polars trusts those offsets: with a damaged footer its reader slices its memory map
/// out of bounds (undefined behaviour in a release build, an abort in a debug build; found by
/// flipping bytes of real files), so they are checked before any row is read.
pub fn check_parquet_ranges(path: &Path) -> PolarsResult<Option<String>> {
    let len = fs::metadata(path)?.len();
    let mut reader = ParquetReader::new(fs::File::open(path)?);
    let md = reader.get_metadata()?;
    for (i, rg) in md.row_groups.iter().enumerate() {
        let ranges = std::iter::once(rg.full_byte_range())
            .chain(rg.parquet_columns().iter().map(|c| c.byte_range()));
        for r in ranges {
            if r.start > r.end || r.end > len {
                return Ok(Some(format!(
                    "the file is damaged: its footer places row group {i} at bytes {}..{} of a file of {len} bytes",
                    r.start, r.end
                )));
            }
        }
    }
    Ok(None)
}

fn read_up_to(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// What one read of a file's bytes learns: its SHA-256, its size and time, and for a CSV the
/// first structural problem of its rows.
#[derive(Debug, Clone, Default)]
pub struct FileDigest {
    /// The file's SHA-256.
    pub sha256: String,
    /// Its size and modification time when read.
    pub stamp: Stamp,
    /// The first structural problem found, naming its row and line.
    pub problem: Option<String>,
}

/// Read a file once: its [`FileDigest`]; a CSV (`separator`) is checked as the module doc says (a
/// compressed CSV on its decompressed bytes, in a second read).
pub fn digest(path: &Path, separator: Option<u8>) -> std::io::Result<FileDigest> {
    let stamp = Stamp::of(path)?;
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut scan: Option<CsvScan> = None;
    let mut first = true;
    let mut compressed = false;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if first {
            first = false;
            compressed = SupportedCompression::check(chunk).is_some();
            if let (Some(sep), false) = (separator, compressed) {
                scan = Some(CsvScan::new(sep));
            }
        }
        h.update(chunk);
        if let Some(s) = scan.as_mut() {
            s.feed(chunk);
        }
    }
    if let (Some(sep), true) = (separator, compressed) {
        scan = Some(scan_compressed(path, sep)?);
    }
    // A CSV of zero bytes has no rows to check (it is refused as empty elsewhere).
    let problem = scan.and_then(CsvScan::finish);
    Ok(FileDigest {
        sha256: hex::encode(h.finalize()),
        stamp,
        problem,
    })
}

/// The column names of a CSV file's header (decompressed if need be), as polars names them;
/// `Err` with a sentence when the header is not UTF-8.
pub fn header_of(path: &Path, separator: u8) -> std::io::Result<Result<Vec<String>, String>> {
    let mut f = fs::File::open(path)?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head)?;
    drop(f);
    let reader = BufReader::new(fs::File::open(path)?);
    let mut src = ByteSourceReader::try_new(reader, SupportedCompression::check(&head[..n]))
        .map_err(|e| damaged(format!("the compressed data is damaged: {e}")))?;
    let mut header: Vec<u8> = Vec::new();
    let mut in_quote = false;
    'read: while header.len() < MAX_HEADER {
        let (chunk, read) = src
            .read_next_slice(&Vec::new().into(), 1 << 16, None)
            .map_err(|e| damaged(format!("the compressed data is damaged: {e}")))?;
        if read == 0 {
            break;
        }
        for &b in chunk.iter() {
            match b {
                b'"' => in_quote = !in_quote,
                b'\n' if !in_quote => break 'read,
                _ => {}
            }
            header.push(b);
        }
    }
    let h = header.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&header);
    let h = h.strip_suffix(b"\r").unwrap_or(h);
    Ok(match std::str::from_utf8(h) {
        Ok(text) => Ok(header_names(text, separator)),
        Err(_) => Err("the header row is not UTF-8 text (save the file as UTF-8)".into()),
    })
}

/// An I/O error that means the file's bytes are damaged (a truncated or corrupt gzip or zstd
/// stream), not that the file could not be read: the caller reports it as the file's problem
/// (exit status 3), not as a system error.
fn damaged(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// [`CsvScan`] over the decompressed bytes of a gzip or zstd file.
fn scan_compressed(path: &Path, separator: u8) -> std::io::Result<CsvScan> {
    let mut f = fs::File::open(path)?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head)?;
    drop(f);
    let reader = BufReader::new(fs::File::open(path)?);
    let mut src = ByteSourceReader::try_new(reader, SupportedCompression::check(&head[..n]))
        .map_err(|e| damaged(format!("the compressed data is damaged: {e}")))?;
    let mut scan = CsvScan::new(separator);
    loop {
        let (chunk, read) = src
            .read_next_slice(&Vec::new().into(), 1 << 20, None)
            .map_err(|e| damaged(format!("the compressed data is damaged: {e}")))?;
        if read == 0 {
            break;
        }
        scan.feed(&chunk);
        if scan.problem.is_some() {
            break;
        }
    }
    Ok(scan)
}

/// Byte classes of the scanner.
const ORDINARY: u8 = 0;
const SEPARATOR: u8 = 1;
const QUOTE: u8 = 2;
const NEWLINE: u8 = 3;
const NUL: u8 = 4;
const RETURN: u8 = 5;

/// The longest header read to check its names.
const MAX_HEADER: usize = 1 << 20;

/// A streaming check of a delimited file's rows (see the module doc).
struct CsvScan {
    class: [u8; 256],
    in_quote: bool,
    /// 1-based line of the byte being read, and of the quote that opened the current quoting.
    line: u64,
    quote_line: u64,
    /// The current record: its fields so far, its first line, and whether it has content
    /// (anything but a `\r`).
    fields: u64,
    record_line: u64,
    content: bool,
    /// Records ended (the header is the first) and the header's field count.
    records: u64,
    header_fields: u64,
    problem: Option<String>,
}

impl CsvScan {
    fn new(separator: u8) -> Self {
        let mut class = [ORDINARY; 256];
        class[separator as usize] = SEPARATOR;
        class[b'"' as usize] = QUOTE;
        class[b'\n' as usize] = NEWLINE;
        class[0] = NUL;
        class[b'\r' as usize] = RETURN;
        CsvScan {
            class,
            in_quote: false,
            line: 1,
            quote_line: 1,
            fields: 1,
            record_line: 1,
            content: false,
            records: 0,
            header_fields: 0,
            problem: None,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if !self.step(b) {
                return;
            }
        }
    }

    /// One byte; false once a problem is found (nothing more is read).
    #[inline(always)]
    fn step(&mut self, b: u8) -> bool {
        match self.class[b as usize] {
            ORDINARY => self.content = true,
            SEPARATOR => {
                self.content = true;
                if !self.in_quote {
                    self.fields += 1;
                }
            }
            QUOTE => {
                self.content = true;
                self.in_quote = !self.in_quote;
                if self.in_quote {
                    self.quote_line = self.line;
                }
            }
            NEWLINE => {
                self.line += 1;
                if !self.in_quote {
                    self.end_record();
                    return self.problem.is_none();
                }
            }
            RETURN => {}
            _ => {
                self.problem = Some(format!(
                    "line {}: a NUL byte (a damaged or binary file, not text)",
                    self.line
                ));
                return false;
            }
        }
        self.problem.is_none()
    }

    fn end_record(&mut self) {
        if self.records == 0 {
            self.header_fields = self.fields;
        } else if self.content && self.fields != self.header_fields {
            self.problem = Some(format!(
                "data row {} (line {}) has {} fields, the header {}; a row with too many or too few fields (a stray delimiter or quote, or a truncated file) cannot be read",
                self.records, self.record_line, self.fields, self.header_fields
            ));
        }
        self.records += 1;
        self.fields = 1;
        self.content = false;
        self.record_line = self.line;
    }

    /// The first problem.
    fn finish(mut self) -> Option<String> {
        if self.problem.is_none() {
            if self.in_quote {
                self.problem = Some(format!(
                    "line {}: a quote (`\"`) is opened and never closed; the rest of the file would be read as one field",
                    self.quote_line
                ));
            } else if self.content || self.records == 0 {
                self.end_record();
            }
        }
        self.problem
    }
}

/// The names of a header row split at `separator` (quoted names unquoted, `""` unescaped).
pub fn header_names(header: &str, separator: u8) -> Vec<String> {
    let sep = separator as char;
    let mut names = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut chars = header.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quote && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => in_quote = !in_quote,
            c if c == sep && !in_quote => names.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    names.push(cur);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &[u8]) -> Option<String> {
        let mut s = CsvScan::new(b',');
        // Fed in small pieces: a chunk boundary may fall anywhere.
        for piece in text.chunks(3) {
            s.feed(piece);
        }
        s.finish()
    }

    fn malformed(text: &[u8]) -> String {
        scan(text).expect("a problem")
    }

    #[test]
    fn well_formed_files_pass() {
        for ok in [
            &b"a,b\n1,2\n"[..],
            b"a,b\n1,2",
            b"a,b\r\n1,2\r\n",
            b"\xEF\xBB\xBFa,b\n1,2\n",
            b"a,b\n\"x,\ny\",2\n",
            b"a,b\n\"say \"\"hi\"\"\",2\n",
            b"a,b\n1,2\n\n",
            b"a,b\n1,2\n\r\n3,4\n",
            b"a,b\n",
            b"a,b",
            b"a\n\n1\n",
        ] {
            assert_eq!(scan(ok), None, "{}", String::from_utf8_lossy(ok));
        }
    }

    #[test]
    fn ragged_rows_name_row_and_line() {
        let m = malformed(b"a,b,c\n1,2,3\n4,5\n");
        assert!(
            m.starts_with("data row 2 (line 3) has 2 fields, the header 3"),
            "{m}"
        );
        let m = malformed(b"a,b\n\"x\ny\",2\n1,2,3\n");
        assert!(m.starts_with("data row 2 (line 4) has 3 fields"), "{m}");
        // A truncated last row.
        let m = malformed(b"a,b,c\n1,2,3\n4,5");
        assert!(m.starts_with("data row 2 (line 3)"), "{m}");
    }

    #[test]
    fn an_unclosed_quote_names_its_line_not_the_rest_of_the_file() {
        let m = malformed(b"a,b\n1,2\n\"3,SECRET\n4,SECRET\n");
        assert!(m.starts_with("line 3: a quote"), "{m}");
        assert!(!m.contains("SECRET"));
    }

    #[test]
    fn nul_bytes_are_refused() {
        let m = malformed(b"a,b\n1,\x002\n");
        assert!(m.starts_with("line 2: a NUL byte"), "{m}");
    }

    #[test]
    fn headers_are_read_as_polars_names_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.csv");
        fs::write(
            &p,
            b"\xEF\xBB\xBFperson_id,\"b,\nc\",person_id\r\n1,2,3\r\n",
        )
        .unwrap();
        assert_eq!(
            header_of(&p, b',').unwrap(),
            Ok(vec!["person_id".into(), "b,\nc".into(), "person_id".into()])
        );
        fs::write(&p, b"a,b\xff\n1,2\n").unwrap();
        assert!(header_of(&p, b',').unwrap().is_err());
        let gz = d.path().join("t.csv.gz");
        fs::write(
            &gz,
            [
                31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 75, 212, 73, 226, 2, 0, 197, 16, 151, 36, 4, 0, 0,
                0,
            ],
        )
        .unwrap();
        assert_eq!(
            header_of(&gz, b',').unwrap(),
            Ok(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn header_names_split_like_polars() {
        assert_eq!(header_names("a,\"b,c\",d", b','), vec!["a", "b,c", "d"]);
        assert_eq!(header_names("a\tb", b'\t'), vec!["a", "b"]);
    }
}
