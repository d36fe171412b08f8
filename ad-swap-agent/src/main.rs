//! megabox-agent binary (being written).
fn main() {}
