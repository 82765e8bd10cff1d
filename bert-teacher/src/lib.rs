//! bert-teacher (being written).
