//! OMOP CDM → input layer (placeholder module filled in below).
