//! Feeds arbitrary bytes to the full analysis and to the tag-scan fast path: any panic, abort,
//! allocation beyond libFuzzer's `-rss_limit_mb` or hang is a finding. Errors are the expected outcome.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let _ = catalog::analysis::analyze_bytes(bytes);
    let _ = catalog::analysis::read_properties_and_tags_from_bytes(bytes);
});
