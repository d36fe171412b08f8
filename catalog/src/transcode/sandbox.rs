//! Runs [`super::transcode_file`] in a child process under memory, processor-time and
//! wall-clock limits, like the analysis (`crate::sandbox`): a source file that crashes, aborts,
//! exhausts memory or loops in a decoder costs one child process and becomes a clear
//! [`TranscodeError`].
//!
//! The child is any binary whose entry point hands its arguments to [`child_main`]: the test
//! binary `catalog-transcode`, and `megabox __transcode`. It sets its own limits before it opens
//! the file, writes the output file, then the JSON of `Result<(), TranscodeError>` to stdout.
//! The process handling is [`crate::child_process`], shared with the analysis sandbox.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::{Format, TranscodeError, partial_path, transcode_file};
use crate::child_process::{self, ADDRESS_SPACE_ARGUMENT, CPU_SECONDS_ARGUMENT, NoAnswer};
use crate::sandbox::{ADDRESS_SPACE_BYTES_DEFAULT, SandboxLimits};

/// Processor time of a transcoding child: LAME encodes a two-hour track at V0 in a few minutes.
pub const TRANSCODE_CPU_SECONDS_DEFAULT: u64 = 600;
/// Wall-clock time before the child is killed, for a child that sleeps or blocks.
pub const TRANSCODE_WALL_CLOCK_SECONDS_DEFAULT: u64 = 900;
/// The largest file a transcoding child may write: an encode of the largest accepted input
/// (lossless to FLAC stays below its source; the margin covers headers and odd sources).
const OUTPUT_FILE_BYTES_MAX: u64 = 2 * crate::analysis::INPUT_BYTES_MAX;
/// The most the child may write to stdout: the JSON of one error.
const OUTPUT_BYTES_MAX: u64 = 64 * 1024;

/// The limits of a transcoding child: the analysis's memory, more time (encoding is slower than measuring).
pub fn default_transcode_limits() -> SandboxLimits {
    SandboxLimits {
        address_space_bytes: ADDRESS_SPACE_BYTES_DEFAULT,
        cpu_seconds: TRANSCODE_CPU_SECONDS_DEFAULT,
        wall_clock: Duration::from_secs(TRANSCODE_WALL_CLOCK_SECONDS_DEFAULT),
    }
}

/// Starts `program leading_args… --address-space-bytes N --cpu-seconds N FORMAT INPUT OUTPUT`.
#[derive(Clone, Debug)]
pub struct TranscodeSandbox {
    program: PathBuf,
    leading_args: Vec<OsString>,
    limits: SandboxLimits,
}

impl TranscodeSandbox {
    /// `program` and `leading_args` start a binary that calls [`child_main`] with the arguments
    /// that follow, e.g. `TranscodeSandbox::new(current_exe, ["__transcode"], default_transcode_limits())`.
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

    /// Transcodes `input` into `output` (replacing it) in a child process; blocks until the child
    /// finishes or is killed (call it from a blocking thread in async code). On failure nothing
    /// is left at `output` or beside it.
    pub fn transcode(
        &self,
        input: &Path,
        output: &Path,
        format: Format,
    ) -> Result<(), TranscodeError> {
        let result = self.run_child(input, output, format);
        if result.is_err() {
            // A killed child leaves its partial file; the output itself only exists on success.
            let _ = std::fs::remove_file(partial_path(output));
            let _ = std::fs::remove_file(output);
        }
        result
    }

    fn run_child(&self, input: &Path, output: &Path, format: Format) -> Result<(), TranscodeError> {
        let operands = [
            std::ffi::OsStr::new(format.as_str()),
            input.as_os_str(),
            output.as_os_str(),
        ];
        child_process::run_for_answer(
            &self.program,
            &self.leading_args,
            &self.limits,
            &operands,
            OUTPUT_BYTES_MAX,
        )
    }
}

impl From<NoAnswer> for TranscodeError {
    fn from(ending: NoAnswer) -> Self {
        match ending {
            NoAnswer::SandboxFailed(message) => TranscodeError::SandboxFailed { message },
            NoAnswer::TimedOut { limit_seconds } => TranscodeError::TimedOut { limit_seconds },
            NoAnswer::OutOfMemory { limit_mib } => TranscodeError::OutOfMemory { limit_mib },
            NoAnswer::CpuTimeExceeded { limit_seconds } => {
                TranscodeError::CpuTimeExceeded { limit_seconds }
            }
            NoAnswer::Crashed(detail) => TranscodeError::Crashed { detail },
        }
    }
}

/// The child's entry point: `[--address-space-bytes N] [--cpu-seconds N] FORMAT INPUT OUTPUT`.
/// Applies the limits to its own process, transcodes INPUT into OUTPUT, and writes the JSON of
/// the result to stdout. Exit status 0 means the JSON was written, whether it holds success or
/// an error; 2 means the arguments were wrong.
pub fn child_main<I, A>(args: I) -> ExitCode
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let parsed = match child_process::parse_arguments(&args) {
        Ok(parsed) => parsed,
        Err(message) => return usage(&message),
    };
    let [format, input, output] = parsed.operands.as_slice() else {
        return usage(&format!(
            "expected FORMAT INPUT OUTPUT, got {} arguments",
            parsed.operands.len()
        ));
    };
    let format = match format.to_str().map(str::parse::<Format>) {
        Some(Ok(format)) => format,
        _ => return usage(&format!("unknown format {format:?}")),
    };
    if let Err(error) = parsed.apply_limits(OUTPUT_FILE_BYTES_MAX) {
        eprintln!("could not apply the sandbox limits: {error}");
        return ExitCode::FAILURE;
    }
    let (input, output) = (Path::new(input), Path::new(output));
    // The output is written beside its final name and renamed into place: its directory.
    let output_directory = match output.parent() {
        Some(directory) if !directory.as_os_str().is_empty() => directory,
        _ => Path::new("."),
    };
    if let Err(message) = child_process::confine(&[input], &[output_directory]) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    child_process::write_result(&transcode_file(input, output, format))
}

fn usage(message: &str) -> ExitCode {
    eprintln!(
        "usage: [{ADDRESS_SPACE_ARGUMENT} N] [{CPU_SECONDS_ARGUMENT} N] FORMAT INPUT OUTPUT: {message}"
    );
    ExitCode::from(2)
}
