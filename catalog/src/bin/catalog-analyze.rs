//! Hosts the analysis sandbox's child process for tests and the benchmark: `catalog-analyze
//! [--address-space-bytes N] [--cpu-seconds N] FILE` prints the JSON of the analysis of FILE.
//! The server hosts the same child as `megabox __analyze`.

fn main() -> std::process::ExitCode {
    catalog::sandbox::child_main(std::env::args_os().skip(1))
}
