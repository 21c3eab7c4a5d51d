//! Parquet that every reader evaluators use can open.
//!
//! polars 0.55's `ParquetWriter` stores the Arrow schema of its newest in-memory layout in
//! each file's `ARROW:schema` key: strings as `string_view`, lists as `list<string_view>`.
//! pyarrow restores those types and then fails on them (a filter on a string column, or
//! `to_pandas()` on a list of strings), and R's arrow package cannot read them at all
//! (apache/arrow#45523). The Parquet pages themselves are plain `BYTE_ARRAY` UTF-8 either
//! way, so only the stored schema needs to change: [`portable_writer`] stores the schema of
//! polars' oldest compatibility level instead (`large_string`, `large_list<large_string>`,
//! `date32`), which pyarrow, pandas, R's arrow, DuckDB and Spark all read.

use std::io::Write;

use polars::prelude::*;
use polars_parquet::write::schema_to_metadata_key;

/// The `ARROW:schema` key of `schema` without view types.
pub fn portable_arrow_schema(schema: &Schema) -> KeyValueMetadata {
    let arrow = schema.to_arrow(CompatLevel::oldest());
    KeyValueMetadata::Static(vec![schema_to_metadata_key(&arrow)])
}

/// A `ParquetWriter` for `df` whose stored Arrow schema has no view types (see the module
/// doc). Callers add compression and row-group settings as they need.
pub fn portable_writer<W: Write>(w: W, df: &DataFrame) -> ParquetWriter<W> {
    ParquetWriter::new(w).with_key_value_metadata(Some(portable_arrow_schema(df.schema())))
}
