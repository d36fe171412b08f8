//! `megabox`: the server and the operator's commands. See `megabox --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = megabox_store::cli::Cli::parse();
    match megabox_store::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
