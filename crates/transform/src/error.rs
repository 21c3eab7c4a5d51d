//! Typed errors of the transform stage.

/// What can stop a transform. Measures never fail on data: they say "no data" instead.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A value-set override or value-set map file has a problem; names the file, row and
    /// column (row 0: the file as a whole or its header).
    #[error("value-set file {file}, row {row}, column `{column}`: {message}")]
    ValueSetFile {
        /// The file, as given.
        file: String,
        /// The 1-based data row (0: the file as a whole or its header).
        row: usize,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The PCR-HH risk-weight table has a problem; names the file, row and column (row 0:
    /// the file as a whole or its header).
    #[error("PCR-HH risk-weight table {file}, row {row}, column `{column}`: {message}")]
    RiskTable {
        /// The file, as given.
        file: String,
        /// The 1-based data row (0: the file as a whole or its header).
        row: usize,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A value-set file or map names a value set caregap does not have (never a silent
    /// non-match); with the nearest known name when one is close.
    #[error("value-set file {file}, row {row}, column `{column}`: unknown value set `{name}`{}; caregap's value sets are {}", did_you_mean(.suggestion), crate::value_sets::set_names().join(", "))]
    UnknownValueSet {
        /// The file, as given.
        file: String,
        /// The 1-based data row (0: the file as a whole or its header).
        row: usize,
        /// The column.
        column: String,
        /// The name as the file wrote it.
        name: String,
        /// The nearest known name, when one is close.
        suggestion: Option<String>,
    },
    /// A value-set file names a code system caregap does not know; with the nearest known
    /// spelling when one is close.
    #[error("value-set file {file}, row {row}, column `{column}`: unknown code system `{name}`{}; {}", did_you_mean(.suggestion), crate::value_sets::code_systems::known_for_message())]
    UnknownCodeSystem {
        /// The file, as given.
        file: String,
        /// The 1-based data row (0: the file as a whole or its header).
        row: usize,
        /// The column.
        column: String,
        /// The name as the file wrote it.
        name: String,
        /// The nearest known name, when one is close.
        suggestion: Option<String>,
    },
    /// A value set that a file replaces would be left without a code caregap can match: all
    /// its codes are in systems caregap matches nothing in (e.g. ICD-10-PCS only).
    #[error("value-set file {file}: value set `{set}` would be left with no codes, since every code the file gives it is in a system caregap matches nothing in ({systems}); give it codes in a system caregap matches, or leave it out of the file")]
    NoMatchableCodes {
        /// The file, as given.
        file: String,
        /// The caregap value set.
        set: String,
        /// The code systems its codes were in.
        systems: String,
    },
    /// A value-set directory export none of whose value sets is in the value-set map.
    #[error("value-set file {file}: none of its {count} value set(s) is in the value-set map {map} (e.g. {examples}); pass a map that names them with --value-set-map (docs/value-sets.md)")]
    NothingMapped {
        /// The file, as given.
        file: String,
        /// How many value sets the export holds.
        count: usize,
        /// The value-set map in force.
        map: String,
        /// A few of the export's value-set names.
        examples: String,
    },
    /// The geography file (`--geography`) has a bad row.
    #[error("geography file {file}, line {line}, column `{column}`: {message}")]
    Geography {
        /// The file.
        file: String,
        /// The line (1 = the header; 0 = the file itself).
        line: usize,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// Parameters that cannot work together (e.g. a period that ends before it starts).
    #[error("invalid parameters: {0}")]
    Params(String),
    /// An internal polars error.
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl TransformError {
    /// Whether the error is in a value-set or value-set map file the user gave (a usage error
    /// for the binary).
    pub fn is_value_set_file_error(&self) -> bool {
        matches!(
            self,
            TransformError::ValueSetFile { .. }
                | TransformError::UnknownValueSet { .. }
                | TransformError::UnknownCodeSystem { .. }
                | TransformError::NoMatchableCodes { .. }
                | TransformError::NothingMapped { .. }
        )
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}
