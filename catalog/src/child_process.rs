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

/// Argument names between the parent and the child.
pub(crate) const ADDRESS_SPACE_ARGUMENT: &str = "--address-space-bytes";
pub(crate) const CPU_SECONDS_ARGUMENT: &str = "--cpu-seconds";
/// The only environment variable a child gets.
const CHILD_PATH: &str = "/usr/bin:/bin";
/// Open files a child may hold: stdio, its input, its output, and what the decoders reopen.
const OPEN_FILES_MAX: u64 = 16;
/// How much of the child's stderr is kept for the crash detail.
const STDERR_BYTES_MAX: u64 = 16 * 1024;
/// How often the parent checks whether the child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Linux's signal for a process over its soft processor-time limit.
const SIGNAL_CPU_TIME_LIMIT: i32 = 24;
/// The message Rust's allocation-failure handler prints before it aborts.
const ALLOCATION_FAILURE_MESSAGE: &str = "memory allocation of";

/// Limits of one child process (the analysis's defaults: [`crate::sandbox`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxLimits {
    pub address_space_bytes: u64,
    pub cpu_seconds: u64,
    pub wall_clock: Duration,
}

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
    // The child gets nothing of the server's environment (payment and signing keys, database
    // URLs, cloud credentials): it needs no settings, and an exploited decoder must find none.
    let mut child = Command::new(program)
        .env_clear()
        .env("PATH", CHILD_PATH)
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
    /// Lowers this process's own limits as asked, and the ones every child has: no core files
    /// (of uploads), a few open files, files written up to `file_bytes_max` (0: none at all;
    /// stdout is a pipe, which the limit does not count), and no new processes or threads.
    pub(crate) fn apply_limits(&self, file_bytes_max: u64) -> std::io::Result<()> {
        lower_limit(rlimit::Resource::CORE, 0, 0)?;
        lower_limit(rlimit::Resource::NOFILE, OPEN_FILES_MAX, OPEN_FILES_MAX)?;
        lower_limit(rlimit::Resource::FSIZE, file_bytes_max, file_bytes_max)?;
        lower_limit(rlimit::Resource::NPROC, 0, 0)?;
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

/// System calls a child never needs, refused with `EPERM`: the network, running programs,
/// reaching into other processes, and the kernel's administrative interfaces. A decoder that an
/// upload exploits can then do no more than the child's own work.
const DENIED_SYSTEM_CALLS: &[i64] = &[
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_fork,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_vfork,
];

/// Confines this process for the rest of its life, after its limits and before it opens the
/// file: it may read `readable` (files) and write only beneath `writable_directories`, and may
/// make no network connection (Landlock, enforced as far as the kernel supports it: the
/// returned status says how far), and it cannot make the system calls of
/// [`DENIED_SYSTEM_CALLS`] (seccomp, with no new privileges).
pub(crate) fn confine(
    readable: &[&Path],
    writable_directories: &[&Path],
) -> Result<landlock::RulesetStatus, String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
        path_beneath_rules,
    };
    let abi = ABI::V5;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|ruleset| ruleset.handle_access(AccessNet::from_all(abi)))
        .and_then(|ruleset| ruleset.create())
        .and_then(|ruleset| {
            ruleset.add_rules(path_beneath_rules(readable, AccessFs::from_read(abi)))
        })
        .and_then(|ruleset| {
            ruleset.add_rules(path_beneath_rules(
                writable_directories,
                AccessFs::from_all(abi),
            ))
        })
        .and_then(|ruleset| ruleset.restrict_self())
        .map_err(|error| format!("could not confine the file system: {error}"))?;

    let rules = DENIED_SYSTEM_CALLS
        .iter()
        .map(|call| (*call, Vec::new()))
        .collect();
    let architecture = seccompiler::TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|error| format!("no system-call filter for this machine: {error}"))?;
    let errno_permission_denied = u32::try_from(libc::EPERM).unwrap_or(1);
    let filter = seccompiler::SeccompFilter::new(
        rules,
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Errno(errno_permission_denied),
        architecture,
    )
    .map_err(|error| format!("could not build the system-call filter: {error}"))?;
    let program: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|error| format!("could not compile the system-call filter: {error}"))?;
    seccompiler::apply_filter(&program)
        .map_err(|error| format!("could not apply the system-call filter: {error}"))?;
    Ok(status.ruleset)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Vec<u8> {
        let limits = SandboxLimits {
            address_space_bytes: 1024 * 1024 * 1024,
            cpu_seconds: 10,
            wall_clock: Duration::from_secs(10),
        };
        let leading_args = [OsString::from("-c"), OsString::from(script)];
        match run(Path::new("/bin/sh"), &leading_args, &limits, &[], 64 * 1024) {
            Ok(Ending::Finished(stdout)) => stdout,
            Ok(_) => panic!("the shell did not finish"),
            Err(message) => panic!("{message}"),
        }
    }

    #[test]
    fn a_child_inherits_no_environment() {
        // The test process has HOME, and cargo's own variables; the child must see none of them.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let environment = String::from_utf8(shell("env")).expect("text");
        let names: Vec<&str> = environment
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name))
            .collect();
        for name in &names {
            // What the shell itself sets is fine; anything else came from the parent.
            assert!(
                ["PATH", "PWD", "SHLVL", "_", "OLDPWD"].contains(name),
                "the child saw {name}"
            );
        }
        assert!(environment.contains(&format!("PATH={CHILD_PATH}")));
    }

    /// The probe's input file, and an address that accepts connections.
    const PROBE_FILE: &str = "MEGABOX_CONFINEMENT_PROBE_FILE";
    const PROBE_ADDRESS: &str = "MEGABOX_CONFINEMENT_PROBE_ADDRESS";

    #[test]
    #[ignore = "run in a process of its own by a_confined_child_reads_only_its_file_and_cannot_connect_or_run_programs"]
    fn confinement_probe() {
        let (Some(file), Some(address)) = (
            std::env::var_os(PROBE_FILE),
            std::env::var(PROBE_ADDRESS).ok(),
        ) else {
            panic!("the probe runs only with {PROBE_FILE} and {PROBE_ADDRESS}");
        };
        let file = std::path::PathBuf::from(file);
        let status = confine(&[&file], &[]).expect("confines");
        println!("probe landlock={status:?}");
        let report = |name: &str, allowed: bool| {
            println!(
                "probe {name}={}",
                if allowed { "allowed" } else { "refused" }
            );
        };
        report("read_own", std::fs::read(&file).is_ok());
        report(
            "read_other",
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).is_ok(),
        );
        report(
            "write_other",
            std::fs::write(file.with_extension("written"), b"x").is_ok(),
        );
        report("connect", std::net::TcpStream::connect(&address).is_ok());
        report(
            "run_program",
            Command::new("/bin/true").env_clear().status().is_ok(),
        );
    }

    #[test]
    fn a_confined_child_reads_only_its_file_and_cannot_connect_or_run_programs() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let file = directory.path().join("upload.bin");
        std::fs::write(&file, b"the upload").expect("write");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let output = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "child_process::tests::confinement_probe",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROBE_FILE, &file)
            .env(
                PROBE_ADDRESS,
                listener.local_addr().expect("address").to_string(),
            )
            .output()
            .expect("runs the probe");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let outcome = |name: &str| {
            stdout
                .lines()
                // libtest may print its own words before the probe's first line.
                .find_map(|line| line.split_once(&format!("probe {name}=")))
                .map(|(_, outcome)| outcome.trim())
                .unwrap_or_else(|| panic!("no {name} in {stdout}"))
                .to_owned()
        };
        assert_eq!(outcome("read_own"), "allowed");
        assert_eq!(outcome("connect"), "refused");
        assert_eq!(outcome("run_program"), "refused");
        // Landlock depends on the kernel: where it is enforced, nothing else may be read or written.
        if outcome("landlock") != "NotEnforced" {
            assert_eq!(outcome("read_other"), "refused");
            assert_eq!(outcome("write_other"), "refused");
        }
    }
}
