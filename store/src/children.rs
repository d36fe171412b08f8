//! The sandboxed children of analysis and transcoding: this same binary run as
//! `megabox __analyze` or `megabox __transcode`. `main` recognises the subcommands before
//! anything else starts; the server builds the sandboxes that run them.

use std::time::Duration;

use anyhow::Context;

use crate::configuration::Settings;

/// The hidden subcommand that runs one file's analysis in a sandboxed child process:
/// `megabox __analyze …`. It must not need settings, a database or logging.
pub const ANALYZE_SUBCOMMAND: &str = "__analyze";
/// The hidden subcommand that transcodes one file in a sandboxed child process.
pub const TRANSCODE_SUBCOMMAND: &str = "__transcode";

/// The sandbox that analyses uploads: `megabox __analyze` (or the configured program) in a child
/// process with the configured limits.
pub fn analysis_sandbox(settings: &Settings) -> anyhow::Result<catalog::sandbox::AnalysisSandbox> {
    Ok(catalog::sandbox::AnalysisSandbox::new(
        child_program(settings)?,
        [ANALYZE_SUBCOMMAND],
        catalog::sandbox::SandboxLimits {
            address_space_bytes: settings.analysis_memory_bytes_max,
            cpu_seconds: settings.analysis_cpu_seconds_max,
            wall_clock: Duration::from_secs(settings.analysis_wall_seconds_max),
        },
    ))
}

/// The sandbox that transcodes previews and downloads.
pub fn transcode_sandbox(
    settings: &Settings,
) -> anyhow::Result<catalog::transcode::TranscodeSandbox> {
    Ok(catalog::transcode::TranscodeSandbox::new(
        child_program(settings)?,
        [TRANSCODE_SUBCOMMAND],
        catalog::transcode::default_transcode_limits(),
    ))
}

/// The program that hosts the sandboxed children (`__analyze`, `__transcode`).
fn child_program(settings: &Settings) -> anyhow::Result<std::path::PathBuf> {
    match &settings.analyzer_program {
        Some(program) => Ok(program.clone()),
        None => std::env::current_exe()
            .context("cannot find this program to run its sandboxed children"),
    }
}
