//! Benchmark driver for `catalog/bench/run.sh`: times one kind of work over a list of files on
//! one thread and prints the rate, so that the script can compare it with ffprobe and ffmpeg.
//!
//! `catalog-bench tags|analyze|sandbox LIST` where LIST holds one path per line:
//! `tags` is `read_properties_and_tags`, `analyze` is `analyze_file` in this process, and
//! `sandbox` is `analyze_file` through the sandbox's child process (`catalog-analyze`, found next
//! to this binary), as the server runs it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use catalog::analysis::{AnalysisError, analyze_file, read_properties_and_tags};
use catalog::sandbox::{AnalysisSandbox, SandboxLimits};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, list] = args.as_slice() else {
        eprintln!("usage: catalog-bench tags|analyze|sandbox LIST");
        return ExitCode::from(2);
    };
    let paths: Vec<PathBuf> = match std::fs::read_to_string(list) {
        Ok(text) => text
            .lines()
            .filter(|line| !line.is_empty())
            .map(PathBuf::from)
            .collect(),
        Err(error) => {
            eprintln!("cannot read {list}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let work = match mode.as_str() {
        "tags" => Work::Tags,
        "analyze" => Work::Analyze,
        "sandbox" => match std::env::current_exe() {
            Ok(exe) => Work::Sandbox(AnalysisSandbox::new(
                exe.with_file_name("catalog-analyze"),
                Vec::<String>::new(),
                SandboxLimits::default(),
            )),
            Err(error) => {
                eprintln!("cannot locate this binary: {error}");
                return ExitCode::FAILURE;
            }
        },
        other => {
            eprintln!("unknown mode {other}: use tags, analyze or sandbox");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let mut errors = 0_usize;
    for path in &paths {
        if let Err(error) = work.run(path) {
            errors += 1;
            eprintln!("{}: {error}", path.display());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let file_count = u32::try_from(paths.len()).unwrap_or(u32::MAX);
    println!(
        "mode={mode} files={} errors={errors} seconds={seconds:.3} files_per_second={:.1}",
        paths.len(),
        f64::from(file_count) / seconds
    );
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

enum Work {
    Tags,
    Analyze,
    Sandbox(AnalysisSandbox),
}

impl Work {
    fn run(&self, path: &Path) -> Result<(), AnalysisError> {
        match self {
            Work::Tags => read_properties_and_tags(path).map(drop),
            Work::Analyze => analyze_file(path).map(drop),
            Work::Sandbox(sandbox) => sandbox.analyze(path).map(drop),
        }
    }
}
