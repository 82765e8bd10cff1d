//! `cargo run -p reports` (being written).
fn main() {}
