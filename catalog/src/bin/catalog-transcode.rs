//! Hosts the transcoding sandbox's child process for tests: `catalog-transcode
//! [--address-space-bytes N] [--cpu-seconds N] FORMAT INPUT OUTPUT` writes OUTPUT and prints the
//! JSON of the result. The server hosts the same child as `megabox __transcode`.

fn main() -> std::process::ExitCode {
    catalog::transcode::child_main(std::env::args_os().skip(1))
}
