//! The sandboxed path: the `catalog-transcode` child transcodes a real file, and a hostile or
//! broken input, a child that cannot start and a child that hangs each give a clear error,
//! never a crash of the caller and never a file left behind.

mod transcode_support;

use std::path::Path;
use std::time::Duration;

use catalog::analysis::{Codec, analyze_file};
use catalog::transcode::{
    Format, TranscodeError, TranscodeSandbox, default_transcode_limits, partial_path,
};
use transcode_support::{MP3_FRAME_FRAMES, TestResult, sandbox, wav};

fn assert_nothing_left(output: &Path) {
    assert!(!output.exists(), "no output at {}", output.display());
    assert!(
        !partial_path(output).exists(),
        "no partial output beside {}",
        output.display()
    );
}

#[test]
fn the_child_transcodes_a_real_file() -> TestResult {
    let directory = tempfile::tempdir()?;
    let source_path = wav(directory.path(), "source.wav", 90_000)?;
    let output = directory.path().join("out.mp3");
    sandbox().transcode(&source_path, &output, Format::Mp3V0)?;
    let transcode = analyze_file(&output)?;
    assert_eq!(transcode.codec, Codec::Mp3);
    assert!(
        transcode.frame_count.abs_diff(90_000) <= MP3_FRAME_FRAMES,
        "{} frames",
        transcode.frame_count
    );
    assert_nothing_left(&partial_path(&output));
    Ok(())
}

#[test]
fn hostile_and_broken_inputs_give_a_clear_error() -> TestResult {
    let directory = tempfile::tempdir()?;
    let good = std::fs::read(wav(directory.path(), "good.wav", 20_000)?)?;
    // Deterministic noise: the same "random" bytes on every run.
    let noise: Vec<u8> = (0_u32..64 * 1024)
        .map(|index| (index.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    let mut wav_claiming_a_huge_rate = good.clone();
    wav_claiming_a_huge_rate[24..28].copy_from_slice(&4_000_000_u32.to_le_bytes());
    let mut wav_with_noise_after_its_header = good[..44].to_vec();
    wav_with_noise_after_its_header.extend_from_slice(&noise);
    let cases: [(&str, Vec<u8>); 6] = [
        ("random bytes", noise.clone()),
        ("an empty file", Vec::new()),
        ("a WAV header alone", good[..44].to_vec()),
        ("a WAV cut inside its header", good[..30].to_vec()),
        ("a WAV claiming 4 MHz", wav_claiming_a_huge_rate),
        (
            "a WAV header before noise, to FLAC",
            wav_with_noise_after_its_header,
        ),
    ];
    for (what, bytes) in cases {
        let input = directory.path().join("hostile.bin");
        std::fs::write(&input, &bytes)?;
        for format in [Format::Flac, Format::Mp3_320, Format::Preview] {
            let output = directory.path().join("hostile.out");
            match sandbox().transcode(&input, &output, format) {
                Err(TranscodeError::Unreadable { .. } | TranscodeError::LimitExceeded { .. }) => {
                    assert_nothing_left(&output)
                }
                // Noise after a valid header is valid (if unpleasant) PCM: it transcodes.
                Ok(()) => assert_eq!(what, "a WAV header before noise, to FLAC"),
                Err(other) => panic!("{what} as {format}: expected a clear refusal, got {other:?}"),
            }
        }
    }
    Ok(())
}

#[test]
fn a_missing_child_program_or_a_hanging_child_is_an_error() -> TestResult {
    let directory = tempfile::tempdir()?;
    let source_path = wav(directory.path(), "source.wav", 10_000)?;
    let output = directory.path().join("out.mp3");

    let missing = TranscodeSandbox::new(
        directory.path().join("no-such-program"),
        Vec::<String>::new(),
        default_transcode_limits(),
    );
    let result = missing.transcode(&source_path, &output, Format::Mp3_320);
    assert!(
        matches!(result, Err(TranscodeError::SandboxFailed { .. })),
        "{result:?}"
    );

    let limits = catalog::sandbox::SandboxLimits {
        wall_clock: Duration::from_millis(300),
        ..default_transcode_limits()
    };
    // `sh -c 'sleep 30' sh ARGS…` ignores the arguments the sandbox appends and just hangs.
    let hanging = TranscodeSandbox::new("sh", ["-c", "sleep 30", "sh"], limits);
    let started = std::time::Instant::now();
    let result = hanging.transcode(&source_path, &output, Format::Mp3_320);
    assert!(
        matches!(result, Err(TranscodeError::TimedOut { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the hanging child was killed at its deadline"
    );

    let exiting = TranscodeSandbox::new(
        "sh",
        [
            "-c",
            "echo 'thread main panicked at decoder.rs' >&2; exit 101",
            "sh",
        ],
        default_transcode_limits(),
    );
    let result = exiting.transcode(&source_path, &output, Format::Mp3_320);
    assert!(
        matches!(&result, Err(TranscodeError::Crashed { detail }) if detail.contains("101") && detail.contains("panicked at")),
        "{result:?}"
    );
    assert_nothing_left(&output);
    Ok(())
}
