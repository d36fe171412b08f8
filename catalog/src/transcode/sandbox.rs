//! Runs [`super::transcode_file`] in a child process under memory, processor-time and
//! wall-clock limits, like the analysis (`crate::sandbox`): a source file that crashes, aborts,
//! exhausts memory or loops in a decoder costs one child process and becomes a clear
//! [`TranscodeError`].
//!
//! The child is any binary whose entry point hands its arguments to [`child_main`]: the test
//! binary `catalog-transcode`, and `megabox __transcode`. It sets its own limits before it opens
//! the file, writes the output file, then the JSON of `Result<(), TranscodeError>` to stdout.
//! The process plumbing mirrors `crate::sandbox`, whose helpers are private to it.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Format, TranscodeError, partial_path, transcode_file};
use crate::sandbox::{ADDRESS_SPACE_BYTES_DEFAULT, SandboxLimits};

/// Processor time of a transcoding child: LAME encodes a two-hour track at V0 in a few minutes.
pub const TRANSCODE_CPU_SECONDS_DEFAULT: u64 = 600;
/// Wall-clock time before the child is killed, for a child that sleeps or blocks.
pub const TRANSCODE_WALL_CLOCK_SECONDS_DEFAULT: u64 = 900;
/// The most the child may write to stdout: the JSON of one error.
const OUTPUT_BYTES_MAX: u64 = 64 * 1024;
/// How much of the child's stderr is kept for the crash detail.
const STDERR_BYTES_MAX: u64 = 16 * 1024;
/// How often the parent checks whether the child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Linux's signal for a process over its soft processor-time limit.
const SIGNAL_CPU_TIME_LIMIT: i32 = 24;
/// The message Rust's allocation-failure handler prints before it aborts.
const ALLOCATION_FAILURE_MESSAGE: &str = "memory allocation of";
/// Argument names between the parent and [`child_main`], the same as the analysis child's.
const ADDRESS_SPACE_ARGUMENT: &str = "--address-space-bytes";
const CPU_SECONDS_ARGUMENT: &str = "--cpu-seconds";

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
        Self { program: program.into(), leading_args: leading_args.into_iter().map(Into::into).collect(), limits }
    }

    /// Transcodes `input` into `output` (replacing it) in a child process; blocks until the child
    /// finishes or is killed (call it from a blocking thread in async code). On failure nothing
    /// is left at `output` or beside it.
    pub fn transcode(&self, input: &Path, output: &Path, format: Format) -> Result<(), TranscodeError> {
        let result = self.run_child(input, output, format);
        if result.is_err() {
            // A killed child leaves its partial file; the output itself only exists on success.
            let _ = std::fs::remove_file(partial_path(output));
            let _ = std::fs::remove_file(output);
        }
        result
    }

    fn run_child(&self, input: &Path, output: &Path, format: Format) -> Result<(), TranscodeError> {
        let mut child = Command::new(&self.program)
            .args(&self.leading_args)
            .arg(ADDRESS_SPACE_ARGUMENT)
            .arg(self.limits.address_space_bytes.to_string())
            .arg(CPU_SECONDS_ARGUMENT)
            .arg(self.limits.cpu_seconds.to_string())
            .arg(format.as_str())
            .arg(input)
            .arg(output)
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

    fn wait_within_deadline(&self, child: &mut Child) -> Result<ExitStatus, TranscodeError> {
        let deadline = Instant::now() + self.limits.wall_clock;
        loop {
            if let Some(status) = child.try_wait().map_err(|error| sandbox_failed(&error.to_string()))? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                // Killing an already exited child fails harmlessly; waiting reaps it either way.
                let _ = child.kill();
                let _ = child.wait();
                return Err(TranscodeError::TimedOut { limit_seconds: self.limits.wall_clock.as_secs() });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn interpret(&self, status: ExitStatus, stdout: &[u8], stderr: &str) -> Result<(), TranscodeError> {
        if status.success() {
            if u64::try_from(stdout.len()).unwrap_or(u64::MAX) > OUTPUT_BYTES_MAX {
                return Err(sandbox_failed("the transcoding output is too large"));
            }
            return serde_json::from_slice::<Result<(), TranscodeError>>(stdout)
                .map_err(|error| sandbox_failed(&format!("unreadable transcoding output: {error}")))?;
        }
        if stderr.contains(ALLOCATION_FAILURE_MESSAGE) {
            return Err(TranscodeError::OutOfMemory { limit_mib: self.limits.address_space_bytes / (1024 * 1024) });
        }
        if status.signal() == Some(SIGNAL_CPU_TIME_LIMIT) {
            return Err(TranscodeError::CpuTimeExceeded { limit_seconds: self.limits.cpu_seconds });
        }
        let how = match (status.signal(), status.code()) {
            (Some(signal), _) => format!("killed by signal {signal}"),
            (None, Some(code)) => format!("exited with status {code}"),
            (None, None) => "ended abnormally".to_owned(),
        };
        let panic_line = stderr.lines().find(|line| line.contains("panicked at")).unwrap_or_default();
        Err(TranscodeError::Crashed { detail: format!("{how}; {panic_line}").trim_end_matches("; ").to_owned() })
    }
}

fn sandbox_failed(message: &str) -> TranscodeError {
    TranscodeError::SandboxFailed { message: message.to_owned() }
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

fn join_reader(reader: JoinHandle<std::io::Result<Vec<u8>>>) -> Result<Vec<u8>, TranscodeError> {
    reader
        .join()
        .map_err(|_| sandbox_failed("the output reader thread panicked"))?
        .map_err(|error| sandbox_failed(&format!("could not read the transcoding output: {error}")))
}

/// The child's entry point: `[--address-space-bytes N] [--cpu-seconds N] FORMAT INPUT OUTPUT`
/// (the arguments after the program name and its leading arguments). Applies the limits to its
/// own process, transcodes INPUT into OUTPUT, and writes the JSON of the result to stdout. Exit
/// status 0 means the JSON was written, whether it holds success or an error; 2 means the
/// arguments were wrong.
pub fn child_main<I, A>(args: I) -> ExitCode
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let parsed = match parse_child_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("usage: [{ADDRESS_SPACE_ARGUMENT} N] [{CPU_SECONDS_ARGUMENT} N] FORMAT INPUT OUTPUT: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = apply_limits(&parsed) {
        eprintln!("could not apply the sandbox limits: {error}");
        return ExitCode::FAILURE;
    }
    let result = transcode_file(&parsed.input, &parsed.output, parsed.format);
    let mut stdout = std::io::stdout().lock();
    match serde_json::to_writer(&mut stdout, &result).and_then(|()| stdout.flush().map_err(serde_json::Error::io)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("could not write the transcoding result: {error}");
            ExitCode::FAILURE
        }
    }
}

struct ChildArgs {
    address_space_bytes: Option<u64>,
    cpu_seconds: Option<u64>,
    format: Format,
    input: PathBuf,
    output: PathBuf,
}

fn parse_child_args(args: &[OsString]) -> Result<ChildArgs, String> {
    let mut address_space_bytes = None;
    let mut cpu_seconds = None;
    let mut positional = Vec::new();
    let mut remaining = args.iter();
    while let Some(arg) = remaining.next() {
        let target = match arg.to_str() {
            Some(ADDRESS_SPACE_ARGUMENT) => &mut address_space_bytes,
            Some(CPU_SECONDS_ARGUMENT) => &mut cpu_seconds,
            _ => {
                positional.push(arg);
                continue;
            }
        };
        let value = remaining.next().and_then(|value| value.to_str()).ok_or(format!("{arg:?} needs a value"))?;
        *target = Some(value.parse::<u64>().map_err(|_| format!("{arg:?} needs a number, not {value:?}"))?);
    }
    let [format, input, output] = positional.as_slice() else {
        return Err(format!("expected FORMAT INPUT OUTPUT, got {} arguments", positional.len()));
    };
    let format = format.to_str().ok_or("FORMAT is not text")?.parse::<Format>().map_err(|error| error.to_string())?;
    Ok(ChildArgs { address_space_bytes, cpu_seconds, format, input: PathBuf::from(input), output: PathBuf::from(output) })
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
