//! `megabox`: the server and the operator's commands. See `megabox --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The sandboxed children of analysis and transcoding: no settings, database or logging.
    let mut arguments = std::env::args_os().skip(1);
    match arguments.next() {
        Some(first) if first == megabox_store::children::ANALYZE_SUBCOMMAND => {
            return catalog::sandbox::child_main(arguments);
        }
        Some(first) if first == megabox_store::children::TRANSCODE_SUBCOMMAND => {
            return catalog::transcode::child_main(arguments);
        }
        _ => {}
    }
    let cli = megabox_store::cli::Cli::parse();
    match megabox_store::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
