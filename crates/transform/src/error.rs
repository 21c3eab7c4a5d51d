//! Typed errors of the transform stage.

/// What can stop a transform. Measures never fail on data: they say "no data" instead.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A value-set override file has a problem; names the file, row and column.
    #[error("value-set file {file}, row {row}, column `{column}`: {message}")]
    ValueSetFile {
        file: String,
        row: usize,
        column: String,
        message: String,
    },
    /// Parameters that cannot work together (e.g. a period that ends before it starts).
    #[error("invalid parameters: {0}")]
    Params(String),
    /// An internal polars error.
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}
