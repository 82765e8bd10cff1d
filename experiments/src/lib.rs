//! The shared pipeline behind the `sst2`, `qqp` and `mnli` binaries (being written).
