//! Running one piece of work on an untrusted file in a child process under limits, shared by
//! the analysis sandbox ([`crate::sandbox`]) and the transcoding sandbox
//! ([`crate::transcode::TranscodeSandbox`]): the parent starts the child with its limits as
//! arguments, enforces a wall-clock deadline, reads bounded output, and tells how the child ended;
//! the child lowers its own limits (address space, processor time, no core files) before it opens
//! the file, and prints its result as JSON.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sandbox::SandboxLimits;

/// Argument names between the parent and the child.
pub(crate) const ADDRESS_SPACE_ARGUMENT: &str = "--address-space-bytes";
pub(crate) const CPU_SECONDS_ARGUMENT: &str = "--cpu-seconds";
/// How much of the child's stderr is kept for the crash detail.
const STDERR_BYTES_MAX: u64 = 16 * 1024;
/// How often the parent checks whether the child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Linux's signal for a process over its soft processor-time limit.
const SIGNAL_CPU_TIME_LIMIT: i32 = 24;
/// The message Rust's allocation-failure handler prints before it aborts.
const ALLOCATION_FAILURE_MESSAGE: &str = "memory allocation of";

/// How a child ended.
enum Ending {
    /// Exited successfully, with this stdout.
    Finished(Vec<u8>),
    TimedOut,
    OutOfMemory,
    CpuTimeExceeded,
    /// Any other end: how it ended, and the panic message if there was one.
    Crashed(String),
}

/// Why a child gave no answer, in the terms both sandboxes report to their callers.
pub(crate) enum NoAnswer {
    /// The child could not be run or read, or its answer was not what it should be.
    SandboxFailed(String),
    TimedOut {
        limit_seconds: u64,
    },
    OutOfMemory {
        limit_mib: u64,
    },
    CpuTimeExceeded {
        limit_seconds: u64,
    },
    Crashed(String),
}

/// Runs the child like [`run`] and reads its answer: the JSON of a `Result<T, E>` the child
/// wrote with [`write_result`]. Every other ending becomes an `E` through `From<NoAnswer>`.
pub(crate) fn run_for_answer<T, E>(
    program: &Path,
    leading_args: &[OsString],
    limits: &SandboxLimits,
    operands: &[&OsStr],
    output_bytes_max: u64,
) -> Result<T, E>
where
    T: serde::de::DeserializeOwned,
    E: serde::de::DeserializeOwned + From<NoAnswer>,
{
    let ending = run(program, leading_args, limits, operands, output_bytes_max)
        .map_err(|message| E::from(NoAnswer::SandboxFailed(message)))?;
    Err(E::from(match ending {
        Ending::Finished(stdout) => {
            return serde_json::from_slice::<Result<T, E>>(&stdout).map_err(|error| {
                E::from(NoAnswer::SandboxFailed(format!(
                    "unreadable output of the child process: {error}"
                )))
            })?;
        }
        Ending::TimedOut => NoAnswer::TimedOut {
            limit_seconds: limits.wall_clock.as_secs(),
        },
        Ending::OutOfMemory => NoAnswer::OutOfMemory {
            limit_mib: limits.address_space_bytes / (1024 * 1024),
        },
        Ending::CpuTimeExceeded => NoAnswer::CpuTimeExceeded {
            limit_seconds: limits.cpu_seconds,
        },
        Ending::Crashed(detail) => NoAnswer::Crashed(detail),
    }))
}

/// Runs `program leading_args… --address-space-bytes N --cpu-seconds N operands…` and waits
/// for it within the wall-clock limit. `Err` means the child could not be run or read at all.
fn run(
    program: &Path,
    leading_args: &[OsString],
    limits: &SandboxLimits,
    operands: &[&OsStr],
    output_bytes_max: u64,
) -> Result<Ending, String> {
    let mut child = Command::new(program)
        .args(leading_args)
        .arg(ADDRESS_SPACE_ARGUMENT)
        .arg(limits.address_space_bytes.to_string())
        .arg(CPU_SECONDS_ARGUMENT)
        .arg(limits.cpu_seconds.to_string())
        .args(operands)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("could not start {}: {error}", program.display()))?;
    let stdout = read_in_background(child.stdout.take(), output_bytes_max + 1);
    let stderr = read_in_background(child.stderr.take(), STDERR_BYTES_MAX);
    let Some(status) = wait_within(&mut child, limits.wall_clock)? else {
        return Ok(Ending::TimedOut);
    };
    let stdout = join_reader(stdout)?;
    let stderr = String::from_utf8_lossy(&join_reader(stderr)?).into_owned();
    if status.success() {
        if u64::try_from(stdout.len()).unwrap_or(u64::MAX) > output_bytes_max {
            return Err("the child's output is too large".to_owned());
        }
        return Ok(Ending::Finished(stdout));
    }
    if stderr.contains(ALLOCATION_FAILURE_MESSAGE) {
        return Ok(Ending::OutOfMemory);
    }
    if status.signal() == Some(SIGNAL_CPU_TIME_LIMIT) {
        return Ok(Ending::CpuTimeExceeded);
    }
    let how = match (status.signal(), status.code()) {
        (Some(signal), _) => format!("killed by signal {signal}"),
        (None, Some(code)) => format!("exited with status {code}"),
        (None, None) => "ended abnormally".to_owned(),
    };
    let panic_line = stderr
        .lines()
        .find(|line| line.contains("panicked at"))
        .unwrap_or_default();
    Ok(Ending::Crashed(
        format!("{how}; {panic_line}")
            .trim_end_matches("; ")
            .to_owned(),
    ))
}

/// The child's status, or `None` when it was killed at the deadline.
fn wait_within(child: &mut Child, wall_clock: Duration) -> Result<Option<ExitStatus>, String> {
    let deadline = Instant::now() + wall_clock;
    loop {
        if let Some(status) = child.try_wait().map_err(|error| error.to_string())? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            // Killing an already exited child fails harmlessly; waiting reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn read_in_background<R: Read + Send + 'static>(
    pipe: Option<R>,
    bytes_max: u64,
) -> JoinHandle<std::io::Result<Vec<u8>>> {
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

fn join_reader(reader: JoinHandle<std::io::Result<Vec<u8>>>) -> Result<Vec<u8>, String> {
    reader
        .join()
        .map_err(|_| "the output reader thread panicked".to_owned())?
        .map_err(|error| format!("could not read the child's output: {error}"))
}

/// The limits a child was asked to apply to itself, and its other arguments.
pub(crate) struct ChildArguments {
    address_space_bytes: Option<u64>,
    cpu_seconds: Option<u64>,
    pub(crate) operands: Vec<OsString>,
}

/// Parses `[--address-space-bytes N] [--cpu-seconds N] operands…`.
pub(crate) fn parse_arguments(args: &[OsString]) -> Result<ChildArguments, String> {
    let mut parsed = ChildArguments {
        address_space_bytes: None,
        cpu_seconds: None,
        operands: Vec::new(),
    };
    let mut remaining = args.iter();
    while let Some(arg) = remaining.next() {
        let target = match arg.to_str() {
            Some(ADDRESS_SPACE_ARGUMENT) => &mut parsed.address_space_bytes,
            Some(CPU_SECONDS_ARGUMENT) => &mut parsed.cpu_seconds,
            _ => {
                parsed.operands.push(arg.clone());
                continue;
            }
        };
        let value = remaining
            .next()
            .and_then(|value| value.to_str())
            .ok_or(format!("{arg:?} needs a value"))?;
        *target = Some(
            value
                .parse()
                .map_err(|_| format!("{arg:?} needs a number, not {value:?}"))?,
        );
    }
    Ok(parsed)
}

impl ChildArguments {
    /// Lowers this process's own limits as asked, and forbids core files (of uploads).
    pub(crate) fn apply_limits(&self) -> std::io::Result<()> {
        lower_limit(rlimit::Resource::CORE, 0, 0)?;
        if let Some(bytes) = self.address_space_bytes {
            lower_limit(rlimit::Resource::AS, bytes, bytes)?;
        }
        if let Some(seconds) = self.cpu_seconds {
            // The soft limit sends SIGXCPU (reported as such); the hard limit one second later kills.
            lower_limit(rlimit::Resource::CPU, seconds, seconds.saturating_add(1))?;
        }
        Ok(())
    }
}

/// Sets a limit, never above the hard limit the process already has (raising it needs privileges).
fn lower_limit(resource: rlimit::Resource, soft: u64, hard: u64) -> std::io::Result<()> {
    let (_, current_hard) = rlimit::getrlimit(resource)?;
    let hard = hard.min(current_hard);
    rlimit::setrlimit(resource, soft.min(hard), hard)
}

/// Writes the child's result as JSON to stdout; exit status 0 means it was written, whatever it holds.
pub(crate) fn write_result<T: serde::Serialize>(result: &T) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match serde_json::to_writer(&mut stdout, result)
        .and_then(|()| stdout.flush().map_err(serde_json::Error::io))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("could not write the result: {error}");
            ExitCode::FAILURE
        }
    }
}
