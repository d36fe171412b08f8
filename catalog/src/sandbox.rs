//! Runs [`crate::analysis::analyze_file`] in a child process under memory, processor-time and
//! wall-clock limits, so that a hostile upload that crashes, aborts, exhausts memory or loops in
//! a decoder costs one child process and becomes a clear [`AnalysisError`].
//!
//! The child is any binary whose entry point hands its arguments to [`child_main`]: the test binary
//! `catalog-analyze`, and `megabox __analyze`. The child sets its own limits (with `setrlimit`)
//! before it opens the file, then writes the JSON of `Result<Analysis, AnalysisError>` to stdout.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::analysis::{Analysis, AnalysisError, analyze_file};

/// Address space of the child: decoding needs tens of MiB; artwork up to a few hundred.
pub const ADDRESS_SPACE_BYTES_DEFAULT: u64 = 1024 * 1024 * 1024;
/// Processor time of the child: a two-hour FLAC decodes and measures in well under this.
pub const CPU_SECONDS_DEFAULT: u64 = 60;
/// Wall-clock time before the child is killed, for a child that sleeps or blocks rather than computes.
pub const WALL_CLOCK_SECONDS_DEFAULT: u64 = 120;
/// The most the child may write to stdout: the analysis with the largest artwork in base64 and its renditions.
const OUTPUT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// How much of the child's stderr is kept for the crash detail.
const STDERR_BYTES_MAX: u64 = 16 * 1024;
/// How often the parent checks whether the child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(2);
/// Linux's signal for a process over its soft processor-time limit.
const SIGNAL_CPU_TIME_LIMIT: i32 = 24;
/// The message Rust's allocation-failure handler prints before it aborts.
const ALLOCATION_FAILURE_MESSAGE: &str = "memory allocation of";

/// Argument names between the parent and [`child_main`].
const ADDRESS_SPACE_ARGUMENT: &str = "--address-space-bytes";
const CPU_SECONDS_ARGUMENT: &str = "--cpu-seconds";

/// Limits of one analysis child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxLimits {
    pub address_space_bytes: u64,
    pub cpu_seconds: u64,
    pub wall_clock: Duration,
}

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
        Self { program: program.into(), leading_args: leading_args.into_iter().map(Into::into).collect(), limits }
    }

    /// Analyses `path` in a child process; blocks until it finishes or is killed (call it from a
    /// blocking thread in async code).
    pub fn analyze(&self, path: &Path) -> Result<Analysis, AnalysisError> {
        let mut child = Command::new(&self.program)
            .args(&self.leading_args)
            .arg(ADDRESS_SPACE_ARGUMENT)
            .arg(self.limits.address_space_bytes.to_string())
            .arg(CPU_SECONDS_ARGUMENT)
            .arg(self.limits.cpu_seconds.to_string())
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| sandbox_failed(&format!("could not start {}: {error}", self.program.display())))?;
        let stdout = read_in_background(child.stdout.take(), OUTPUT_BYTES_MAX + 1);
        let stderr = read_in_background(child.stderr.take(), STDERR_BYTES_MAX);
        let status = self.wait_within_deadline(&mut child)?;
        let stdout = join_reader(stdout)?;
        let stderr = String::from_utf8_lossy(&join_reader(stderr)?).into_owned();
        self.interpret(status, &stdout, &stderr)
    }

    fn wait_within_deadline(&self, child: &mut Child) -> Result<ExitStatus, AnalysisError> {
        let deadline = Instant::now() + self.limits.wall_clock;
        loop {
            if let Some(status) = child.try_wait().map_err(|error| sandbox_failed(&error.to_string()))? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                // Killing an already exited child fails harmlessly; waiting reaps it either way.
                let _ = child.kill();
                let _ = child.wait();
                return Err(AnalysisError::TimedOut { limit_seconds: self.limits.wall_clock.as_secs() });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn interpret(&self, status: ExitStatus, stdout: &[u8], stderr: &str) -> Result<Analysis, AnalysisError> {
        if status.success() {
            if u64::try_from(stdout.len()).unwrap_or(u64::MAX) > OUTPUT_BYTES_MAX {
                return Err(sandbox_failed("the analysis output is too large"));
            }
            return serde_json::from_slice::<Result<Analysis, AnalysisError>>(stdout)
                .map_err(|error| sandbox_failed(&format!("unreadable analysis output: {error}")))?;
        }
        if stderr.contains(ALLOCATION_FAILURE_MESSAGE) {
            return Err(AnalysisError::OutOfMemory { limit_mib: self.limits.address_space_bytes / (1024 * 1024) });
        }
        if status.signal() == Some(SIGNAL_CPU_TIME_LIMIT) {
            return Err(AnalysisError::CpuTimeExceeded { limit_seconds: self.limits.cpu_seconds });
        }
        let how = match (status.signal(), status.code()) {
            (Some(signal), _) => format!("killed by signal {signal}"),
            (None, Some(code)) => format!("exited with status {code}"),
            (None, None) => "ended abnormally".to_owned(),
        };
        let panic_line = stderr.lines().find(|line| line.contains("panicked at")).unwrap_or_default();
        Err(AnalysisError::Crashed { detail: format!("{how}; {panic_line}").trim_end_matches("; ").to_owned() })
    }
}

fn sandbox_failed(message: &str) -> AnalysisError {
    AnalysisError::SandboxFailed { message: message.to_owned() }
}

fn read_in_background<R: Read + Send + 'static>(pipe: Option<R>, bytes_max: u64) -> JoinHandle<std::io::Result<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let mut limited = pipe.take(bytes_max);
            limited.read_to_end(&mut bytes)?;
            // Drain the rest so that a chatty child never blocks on a full pipe.
            std::io::copy(&mut limited.into_inner(), &mut std::io::sink())?;
        }
        Ok(bytes)
    })
}

fn join_reader(reader: JoinHandle<std::io::Result<Vec<u8>>>) -> Result<Vec<u8>, AnalysisError> {
    reader
        .join()
        .map_err(|_| sandbox_failed("the output reader thread panicked"))?
        .map_err(|error| sandbox_failed(&format!("could not read the analysis output: {error}")))
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
    let parsed = match parse_child_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("usage: [{ADDRESS_SPACE_ARGUMENT} N] [{CPU_SECONDS_ARGUMENT} N] FILE: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = apply_limits(&parsed) {
        eprintln!("could not apply the sandbox limits: {error}");
        return ExitCode::FAILURE;
    }
    let result = analyze_file(&parsed.path);
    let mut stdout = std::io::stdout().lock();
    match serde_json::to_writer(&mut stdout, &result).and_then(|()| stdout.flush().map_err(serde_json::Error::io)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("could not write the analysis: {error}");
            ExitCode::FAILURE
        }
    }
}

struct ChildArgs {
    address_space_bytes: Option<u64>,
    cpu_seconds: Option<u64>,
    path: PathBuf,
}

fn parse_child_args(args: &[OsString]) -> Result<ChildArgs, String> {
    let mut parsed = ChildArgs { address_space_bytes: None, cpu_seconds: None, path: PathBuf::new() };
    let mut remaining = args.iter();
    let mut path = None;
    while let Some(arg) = remaining.next() {
        let target = match arg.to_str() {
            Some(ADDRESS_SPACE_ARGUMENT) => &mut parsed.address_space_bytes,
            Some(CPU_SECONDS_ARGUMENT) => &mut parsed.cpu_seconds,
            _ if path.is_none() => {
                path = Some(PathBuf::from(arg));
                continue;
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        let value = remaining.next().and_then(|value| value.to_str()).ok_or(format!("{arg:?} needs a value"))?;
        *target = Some(value.parse().map_err(|_| format!("{arg:?} needs a number, not {value:?}"))?);
    }
    parsed.path = path.ok_or("FILE is missing")?;
    Ok(parsed)
}

fn apply_limits(args: &ChildArgs) -> std::io::Result<()> {
    // A crashing decoder must not leave core files of uploads behind.
    lower_limit(rlimit::Resource::CORE, 0, 0)?;
    if let Some(bytes) = args.address_space_bytes {
        lower_limit(rlimit::Resource::AS, bytes, bytes)?;
    }
    if let Some(seconds) = args.cpu_seconds {
        // The soft limit sends SIGXCPU (reported as such); the hard limit one second later kills.
        lower_limit(rlimit::Resource::CPU, seconds, seconds.saturating_add(1))?;
    }
    Ok(())
}

/// Sets a limit, never above the hard limit the process already has (raising it needs privileges).
fn lower_limit(resource: rlimit::Resource, soft: u64, hard: u64) -> std::io::Result<()> {
    let (_, current_hard) = rlimit::getrlimit(resource)?;
    let hard = hard.min(current_hard);
    rlimit::setrlimit(resource, soft.min(hard), hard)
}
