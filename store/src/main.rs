//! `megabox`: the server and the operator's commands. See `megabox --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut arguments = std::env::args_os().skip(1);
    if arguments.next().is_some_and(|first| first == megabox_store::cli::ANALYZE_SUBCOMMAND) {
        return catalog::sandbox::child_main(arguments);
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
