//! Shared fixtures of the transcoding tests: generated audio (WAV written here, lossy and FLAC
//! sources made with the `lame` and `flac` tools from `.ci/apt-packages`) and the sandbox on the
//! `catalog-transcode` test binary.

#![allow(dead_code)] // Each test file uses a different part of this module.

use std::path::{Path, PathBuf};
use std::process::Command;

use catalog::sandbox::SandboxLimits;
use catalog::transcode::{TranscodeSandbox, default_transcode_limits};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const SAMPLE_RATE_HZ: u32 = 44_100;
/// The frames of one MPEG-1 layer III frame: the tolerance on a lossy transcode's length.
pub const MP3_FRAME_FRAMES: u64 = 1152;

/// Writes a PCM WAV of `frame_count` frames: a chord that changes pitch per channel, loud
/// enough to measure, at 16 or 24 bits.
pub fn write_wav(
    path: &Path,
    channels: u16,
    bits_per_sample: u16,
    frame_count: u64,
) -> std::io::Result<()> {
    let bytes_per_sample = usize::from(bits_per_sample / 8);
    let data_bytes = usize::try_from(frame_count).unwrap_or(usize::MAX)
        * usize::from(channels)
        * bytes_per_sample;
    let mut bytes = Vec::with_capacity(44 + data_bytes);
    let byte_rate = SAMPLE_RATE_HZ * u32::from(channels) * u32::from(bits_per_sample / 8);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(
        &u32::try_from(36 + data_bytes)
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16_u32.to_le_bytes());
    bytes.extend_from_slice(&1_u16.to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&SAMPLE_RATE_HZ.to_le_bytes());
    bytes.extend_from_slice(&byte_rate.to_le_bytes());
    bytes.extend_from_slice(&(channels * (bits_per_sample / 8)).to_le_bytes());
    bytes.extend_from_slice(&bits_per_sample.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&u32::try_from(data_bytes).unwrap_or(u32::MAX).to_le_bytes());
    let full_scale = f64::from((1_u32 << (bits_per_sample - 1)) - 1);
    for frame in 0..u32::try_from(frame_count).unwrap_or(u32::MAX) {
        let time_seconds = f64::from(frame) / f64::from(SAMPLE_RATE_HZ);
        for channel in 0..channels {
            let pitch_hz = 220.0 * f64::from(channel + 1);
            let value = 0.3 * (2.0 * std::f64::consts::PI * pitch_hz * time_seconds).sin()
                + 0.2 * (2.0 * std::f64::consts::PI * pitch_hz * 1.5 * time_seconds).sin();
            // |value| ≤ 0.5, so the rounded sample always fits.
            #[allow(clippy::as_conversions)]
            let sample = (value * full_scale).round() as i32;
            bytes.extend_from_slice(&sample.to_le_bytes()[..bytes_per_sample]);
        }
    }
    std::fs::write(path, bytes)
}

/// A 16-bit stereo WAV of `frame_count` frames at `directory/name`.
pub fn wav(directory: &Path, name: &str, frame_count: u64) -> std::io::Result<PathBuf> {
    let path = directory.join(name);
    write_wav(&path, 2, 16, frame_count)?;
    Ok(path)
}

/// Runs a command line tool, failing the test with its stderr if it fails.
pub fn run(program: &str, args: &[&std::ffi::OsStr]) -> Result<(), Box<dyn std::error::Error>> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run {program} (see .ci/apt-packages): {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// An MP3 (a lossy source) of the WAV at `wav`, made by the `lame` tool.
pub fn lame_mp3(wav: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let mp3 = wav.with_extension("mp3");
    run(
        "lame",
        &[
            "--quiet".as_ref(),
            "-b".as_ref(),
            "192".as_ref(),
            wav.as_os_str(),
            mp3.as_os_str(),
        ],
    )?;
    Ok(mp3)
}

/// A FLAC of the WAV at `wav`, made by the reference `flac` tool.
pub fn reference_flac(wav: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let flac = wav.with_extension("flac");
    run(
        "flac",
        &[
            "--silent".as_ref(),
            "--force".as_ref(),
            "-o".as_ref(),
            flac.as_os_str(),
            wav.as_os_str(),
        ],
    )?;
    Ok(flac)
}

/// The sandbox on the test binary, with the product's limits.
pub fn sandbox() -> TranscodeSandbox {
    sandbox_with_limits(default_transcode_limits())
}

pub fn sandbox_with_limits(limits: SandboxLimits) -> TranscodeSandbox {
    TranscodeSandbox::new(
        env!("CARGO_BIN_EXE_catalog-transcode"),
        Vec::<String>::new(),
        limits,
    )
}
