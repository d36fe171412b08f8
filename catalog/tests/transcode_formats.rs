//! Each transcode decodes, and is as long as its source: exactly for FLAC (the same samples),
//! within one MP3 frame for MP3; a preview is 30 s of real audio, or the whole short track; FLAC
//! is never made from a lossy source.

mod transcode_support;

use std::path::Path;

use catalog::analysis::{Analysis, Codec, Container, analyze_file};
use catalog::transcode::{
    Format, PREVIEW_DURATION_MS, TranscodeError, partial_path, transcode_file,
};
use transcode_support::{
    MP3_FRAME_FRAMES, SAMPLE_RATE_HZ, TestResult, lame_mp3, reference_flac, run, wav, write_wav,
};

/// Transcodes `source` in this process and analyses the result.
fn transcode_and_analyze(
    source: &Path,
    format: Format,
) -> Result<Analysis, Box<dyn std::error::Error>> {
    let output = source.with_file_name(format!(
        "{}-{}.out",
        source
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("source"),
        format
    ));
    transcode_file(source, &output, format)?;
    assert!(
        !partial_path(&output).exists(),
        "the partial file was renamed into place"
    );
    Ok(analyze_file(&output)?)
}

fn assert_same_length_within_one_mp3_frame(source: &Analysis, transcode: &Analysis, what: &str) {
    let difference = source.frame_count.abs_diff(transcode.frame_count);
    assert!(
        difference <= MP3_FRAME_FRAMES,
        "{what}: {} frames against the source's {}",
        transcode.frame_count,
        source.frame_count
    );
}

#[test]
fn every_format_decodes_and_keeps_the_source_length() -> TestResult {
    let directory = tempfile::tempdir()?;
    // 3.3 s: not a whole number of MP3 or FLAC frames.
    let source_path = wav(directory.path(), "source.wav", 145_530)?;
    let source = analyze_file(&source_path)?;

    let flac = transcode_and_analyze(&source_path, Format::Flac)?;
    assert_eq!(
        (flac.container, flac.codec, flac.bits_per_sample),
        (Container::Flac, Codec::Flac, Some(16))
    );
    assert_eq!(flac.frame_count, source.frame_count);
    assert_eq!(
        flac.audio_sha256, source.audio_sha256,
        "FLAC holds exactly the source's samples"
    );
    // The reference decoder checks the structure, every frame's CRC and STREAMINFO's MD5.
    run(
        "flac",
        &[
            "--test".as_ref(),
            "--silent".as_ref(),
            directory.path().join("source-flac.out").as_os_str(),
        ],
    )?;

    for format in [Format::Mp3_320, Format::Mp3V0] {
        let mp3 = transcode_and_analyze(&source_path, format)?;
        assert_eq!(
            (mp3.container, mp3.codec, mp3.channels, mp3.sample_rate_hz),
            (Container::Mp3, Codec::Mp3, 2, SAMPLE_RATE_HZ),
            "{format}"
        );
        assert_same_length_within_one_mp3_frame(&source, &mp3, format.as_str());
        assert!(
            mp3.loudness
                .integrated_lufs
                .is_some_and(|lufs| lufs > -30.0),
            "{format} carries the audio: {:?}",
            mp3.loudness
        );
    }
    let cbr_bytes = std::fs::metadata(directory.path().join("source-mp3-320.out"))?.len();
    let expected_cbr_bytes = 320_000 / 8 * 33 / 10;
    assert!(
        cbr_bytes.abs_diff(expected_cbr_bytes) < expected_cbr_bytes / 10,
        "320 kbps for 3.3 s is about {expected_cbr_bytes} bytes, not {cbr_bytes}"
    );
    Ok(())
}

#[test]
fn flac_keeps_the_bit_depth_of_24_bit_and_reference_flac_sources() -> TestResult {
    let directory = tempfile::tempdir()?;
    let wav_path = directory.path().join("deep.wav");
    write_wav(&wav_path, 2, 24, 50_000)?;
    let flac_path = reference_flac(&wav_path)?;
    for source_path in [wav_path, flac_path] {
        let source = analyze_file(&source_path)?;
        let flac = transcode_and_analyze(&source_path, Format::Flac)?;
        assert_eq!(flac.bits_per_sample, Some(24), "{}", source_path.display());
        assert_eq!(
            flac.audio_sha256,
            source.audio_sha256,
            "{}",
            source_path.display()
        );
    }
    Ok(())
}

#[test]
fn lossy_sources_make_mp3_but_never_flac() -> TestResult {
    let directory = tempfile::tempdir()?;
    let mp3_path = lame_mp3(&wav(directory.path(), "lossy.wav", 100_000)?)?;
    let source = analyze_file(&mp3_path)?;
    let mp3 = transcode_and_analyze(&mp3_path, Format::Mp3V0)?;
    assert_same_length_within_one_mp3_frame(&source, &mp3, "V0 of an MP3");

    let output = directory.path().join("refused.flac");
    let refused = transcode_file(&mp3_path, &output, Format::Flac);
    assert!(
        matches!(&refused, Err(TranscodeError::LossySource { codec }) if codec == "mp3"),
        "{refused:?}"
    );
    assert!(
        !output.exists() && !partial_path(&output).exists(),
        "a refused transcode leaves nothing behind"
    );
    Ok(())
}

#[test]
fn mono_and_surround_sources_make_mono_and_stereo_mp3() -> TestResult {
    let directory = tempfile::tempdir()?;
    for (channels, expected_channels) in [(1, 1), (6, 2)] {
        let path = directory.path().join(format!("channels-{channels}.wav"));
        write_wav(&path, channels, 16, 30_000)?;
        let source = analyze_file(&path)?;
        let mp3 = transcode_and_analyze(&path, Format::Mp3_320)?;
        assert_eq!(
            mp3.channels, expected_channels,
            "{channels} source channels"
        );
        assert_same_length_within_one_mp3_frame(&source, &mp3, "folded channels");
    }
    Ok(())
}

#[test]
fn a_preview_is_thirty_seconds_of_audio_or_the_whole_short_track() -> TestResult {
    let directory = tempfile::tempdir()?;
    let long = directory.path().join("long.wav");
    write_wav(&long, 1, 16, u64::from(SAMPLE_RATE_HZ) * 100)?;
    let short = directory.path().join("short.wav");
    write_wav(&short, 1, 16, u64::from(SAMPLE_RATE_HZ) * 5)?;
    let mp3_frame_ms = MP3_FRAME_FRAMES * 1000 / u64::from(SAMPLE_RATE_HZ);
    for (source_path, expected_ms) in [(long, PREVIEW_DURATION_MS), (short, 5_000)] {
        let preview = transcode_and_analyze(&source_path, Format::Preview)?;
        assert_eq!(preview.codec, Codec::Mp3);
        assert!(
            preview.duration_ms.abs_diff(expected_ms) <= mp3_frame_ms,
            "{}: {} ms",
            source_path.display(),
            preview.duration_ms
        );
        assert!(
            preview
                .loudness
                .integrated_lufs
                .is_some_and(|lufs| lufs > -30.0),
            "real audio, not silence: {:?}",
            preview.loudness
        );
    }
    Ok(())
}

#[test]
fn formats_parse_from_their_names_and_the_preview_is_no_download() {
    for format in Format::DOWNLOADS {
        assert_eq!(Format::parse_download(format.as_str()).ok(), Some(format));
        assert_eq!(format.as_str().parse::<Format>().ok(), Some(format));
    }
    assert_eq!("preview".parse::<Format>().ok(), Some(Format::Preview));
    for refused in ["preview", "MP3-320", "wav", "", "../flac"] {
        assert!(
            matches!(
                Format::parse_download(refused),
                Err(TranscodeError::UnknownFormat { .. })
            ),
            "{refused:?}"
        );
    }
    let types = [
        (Format::Flac, "wav", "flac", "audio/flac"),
        (Format::Mp3_320, "flac", "mp3", "audio/mpeg"),
        (Format::Mp3V0, "flac", "mp3", "audio/mpeg"),
        (Format::Preview, "flac", "mp3", "audio/mpeg"),
        (Format::Original, "wav", "wav", "audio/wav"),
        (Format::Original, "mp4", "m4a", "audio/mp4"),
    ];
    for (format, container, extension, mime_type) in types {
        assert_eq!(
            (
                format.file_extension(container),
                format.mime_type(container)
            ),
            (extension, mime_type),
            "{format} of {container}"
        );
    }
    for codec in ["flac", "pcm", "alac", "mp3", "aac", "vorbis"] {
        let lossless = matches!(codec, "flac" | "pcm" | "alac");
        assert_eq!(
            Format::Flac.is_available_for(codec),
            lossless,
            "FLAC from {codec}"
        );
        assert!(
            [
                Format::Original,
                Format::Mp3_320,
                Format::Mp3V0,
                Format::Preview
            ]
            .iter()
            .all(|format| format.is_available_for(codec)),
            "{codec}"
        );
    }
}
