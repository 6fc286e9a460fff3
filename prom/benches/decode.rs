//! Decode benchmark (being written).
fn main() {}
