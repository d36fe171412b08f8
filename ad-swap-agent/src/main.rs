//! megabox-agent (being written).
fn main() {}
