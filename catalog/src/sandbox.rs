//! Runs [`crate::analysis::analyze_file`] in a child process under memory, processor-time and
//! wall-clock limits, so that a hostile upload that crashes, aborts, exhausts memory or loops in
//! a decoder costs one child process and becomes a clear [`AnalysisError`].
//!
//! The child is any binary whose entry point hands its arguments to [`child_main`]: the test binary
//! `catalog-analyze`, and `megabox __analyze`. The child sets its own limits (with `setrlimit`)
//! before it opens the file, then writes the JSON of `Result<Analysis, AnalysisError>` to stdout.
//! The process handling is [`crate::child_process`], shared with the transcoding sandbox.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::analysis::{Analysis, AnalysisError, analyze_file};
pub use crate::child_process::SandboxLimits;
use crate::child_process::{self, ADDRESS_SPACE_ARGUMENT, CPU_SECONDS_ARGUMENT, NoAnswer};

/// Address space of the child: decoding needs tens of MiB; artwork up to a few hundred.
pub const ADDRESS_SPACE_BYTES_DEFAULT: u64 = 1024 * 1024 * 1024;
/// Processor time of the child: a two-hour FLAC decodes and measures in well under this.
pub const CPU_SECONDS_DEFAULT: u64 = 60;
/// Wall-clock time before the child is killed, for a child that sleeps or blocks rather than computes.
pub const WALL_CLOCK_SECONDS_DEFAULT: u64 = 120;
/// The most the child may write to stdout: the analysis with the largest artwork in base64 and its renditions.
const OUTPUT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// The analysis's limits.
impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            address_space_bytes: ADDRESS_SPACE_BYTES_DEFAULT,
            cpu_seconds: CPU_SECONDS_DEFAULT,
            wall_clock: Duration::from_secs(WALL_CLOCK_SECONDS_DEFAULT),
        }
    }
}

/// Starts `program leading_args… --address-space-bytes N --cpu-seconds N FILE` for each file.
#[derive(Clone, Debug)]
pub struct AnalysisSandbox {
    program: PathBuf,
    leading_args: Vec<OsString>,
    limits: SandboxLimits,
}

impl AnalysisSandbox {
    /// `program` and `leading_args` start a binary that calls [`child_main`] with the arguments
    /// that follow, e.g. `AnalysisSandbox::new(current_exe, ["__analyze"], SandboxLimits::default())`.
    pub fn new<I, A>(program: impl Into<PathBuf>, leading_args: I, limits: SandboxLimits) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        Self {
            program: program.into(),
            leading_args: leading_args.into_iter().map(Into::into).collect(),
            limits,
        }
    }

    /// Analyses `path` in a child process; blocks until it finishes or is killed (call it from a
    /// blocking thread in async code).
    pub fn analyze(&self, path: &Path) -> Result<Analysis, AnalysisError> {
        child_process::run_for_answer(
            &self.program,
            &self.leading_args,
            &self.limits,
            &[path.as_os_str()],
            OUTPUT_BYTES_MAX,
        )
    }
}

impl From<NoAnswer> for AnalysisError {
    fn from(ending: NoAnswer) -> Self {
        match ending {
            NoAnswer::SandboxFailed(message) => AnalysisError::SandboxFailed { message },
            NoAnswer::TimedOut { limit_seconds } => AnalysisError::TimedOut { limit_seconds },
            NoAnswer::OutOfMemory { limit_mib } => AnalysisError::OutOfMemory { limit_mib },
            NoAnswer::CpuTimeExceeded { limit_seconds } => {
                AnalysisError::CpuTimeExceeded { limit_seconds }
            }
            NoAnswer::Crashed(detail) => AnalysisError::Crashed { detail },
        }
    }
}

/// The child's entry point: `[--address-space-bytes N] [--cpu-seconds N] FILE` (the arguments after
/// the program name and its leading arguments). Applies the limits to its own process, analyses
/// FILE, and writes the JSON of the result to stdout. Exit status 0 means the JSON was written,
/// whether it holds an analysis or an error; 2 means the arguments were wrong.
pub fn child_main<I, A>(args: I) -> ExitCode
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let parsed = match child_process::parse_arguments(&args) {
        Ok(parsed) if parsed.operands.len() == 1 => parsed,
        Ok(parsed) => {
            return usage(&format!(
                "expected one FILE, got {} arguments",
                parsed.operands.len()
            ));
        }
        Err(message) => return usage(&message),
    };
    // The analysis writes no file: its answer goes to stdout.
    if let Err(error) = parsed.apply_limits(0) {
        eprintln!("could not apply the sandbox limits: {error}");
        return ExitCode::FAILURE;
    }
    let path = PathBuf::from(&parsed.operands[0]);
    if let Err(message) = child_process::confine(&[&path], &[]) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    child_process::write_result(&analyze_file(&path))
}

fn usage(message: &str) -> ExitCode {
    eprintln!("usage: [{ADDRESS_SPACE_ARGUMENT} N] [{CPU_SECONDS_ARGUMENT} N] FILE: {message}");
    ExitCode::from(2)
}
