//! Placeholder module; being written.
