//! Audio analysis against a corpus these tests generate themselves (ffmpeg for audio, lofty for tags
//! and artwork, no binary fixtures): good files in every accepted format, hostile files that must
//! be refused with a clear error, and the sandbox's child process on both.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use catalog::analysis::{
    Analysis, AnalysisError, AnalysisLimits, Codec, Container, Tags, WAVEFORM_BINS, analyze_bytes,
    analyze_file, analyze_file_with_limits, read_properties_and_tags,
};
use catalog::sandbox::{AnalysisSandbox, SandboxLimits};
use lofty::config::WriteOptions;
use lofty::picture::{MimeType, Picture, PictureType};
use lofty::prelude::*;
use lofty::tag::Tag;
use lofty::tag::items::Timestamp;

/// The test signal: a 997 Hz sine at -20 dBFS (amplitude 0.1), 3 seconds long.
const SINE_AMPLITUDE: f64 = 0.1;
const SIGNAL_SECONDS: u64 = 3;
const COVER_WIDTH_PIXELS: u32 = 1500;
const COVER_HEIGHT_PIXELS: u32 = 1000;

/// One good file of the corpus and what its analysis must say.
struct GoodFile {
    name: &'static str,
    ffmpeg_codec_args: &'static [&'static str],
    container: Container,
    codec: Codec,
    channels: u16,
    sample_rate_hz: u32,
    bits_per_sample: Option<u32>,
    lossless: bool,
}

const GOOD_FILES: &[GoodFile] = &[
    GoodFile {
        name: "flac.flac",
        ffmpeg_codec_args: &["-c:a", "flac", "-sample_fmt", "s16"],
        container: Container::Flac,
        codec: Codec::Flac,
        channels: 1,
        sample_rate_hz: 44_100,
        bits_per_sample: Some(16),
        lossless: true,
    },
    GoodFile {
        name: "mp3.mp3",
        ffmpeg_codec_args: &["-c:a", "libmp3lame", "-b:a", "192k"],
        container: Container::Mp3,
        codec: Codec::Mp3,
        channels: 1,
        sample_rate_hz: 44_100,
        bits_per_sample: None,
        lossless: false,
    },
    GoodFile {
        name: "vorbis.ogg",
        ffmpeg_codec_args: &["-c:a", "libvorbis", "-q:a", "5"],
        container: Container::Ogg,
        codec: Codec::Vorbis,
        channels: 2,
        sample_rate_hz: 48_000,
        bits_per_sample: None,
        lossless: false,
    },
    GoodFile {
        name: "pcm24.wav",
        ffmpeg_codec_args: &["-c:a", "pcm_s24le"],
        container: Container::Wav,
        codec: Codec::Pcm,
        channels: 2,
        sample_rate_hz: 48_000,
        bits_per_sample: Some(24),
        lossless: true,
    },
    GoodFile {
        name: "pcm16.aiff",
        ffmpeg_codec_args: &["-c:a", "pcm_s16be"],
        container: Container::Aiff,
        codec: Codec::Pcm,
        channels: 1,
        sample_rate_hz: 44_100,
        bits_per_sample: Some(16),
        lossless: true,
    },
    GoodFile {
        name: "aac.m4a",
        ffmpeg_codec_args: &["-c:a", "aac", "-b:a", "160k"],
        container: Container::Mp4,
        codec: Codec::Aac,
        channels: 2,
        sample_rate_hz: 44_100,
        bits_per_sample: None,
        lossless: false,
    },
    GoodFile {
        name: "alac.m4a",
        ffmpeg_codec_args: &["-c:a", "alac", "-sample_fmt", "s16p"],
        container: Container::Mp4,
        codec: Codec::Alac,
        channels: 1,
        sample_rate_hz: 44_100,
        bits_per_sample: Some(16),
        lossless: true,
    },
];

fn expected_tags() -> Tags {
    Tags {
        title: Some("Nachtmusik für Tests".to_owned()),
        artist: Some("The Test Signals".to_owned()),
        album: Some("Sines".to_owned()),
        album_artist: Some("Various Signals".to_owned()),
        track_number: Some(3),
        disc_number: Some(2),
        year: Some(2024),
        genre: Some("Electronic".to_owned()),
        isrc: Some("USRC17607839".to_owned()),
    }
}

/// The corpus directory, generated once per test process and removed when it ends... or left in
/// the system's temporary directory if the process is killed, which is harmless.
fn corpus() -> &'static Path {
    static CORPUS: OnceLock<tempfile::TempDir> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let directory = tempfile::tempdir().expect("temporary directory");
            std::fs::write(directory.path().join("cover.png"), cover_png()).expect("write cover");
            for good in GOOD_FILES {
                let path = directory.path().join(good.name);
                generate_sine(
                    &path,
                    good.channels,
                    good.sample_rate_hz,
                    good.ffmpeg_codec_args,
                );
                write_tags(&path, &expected_tags(), Some(cover_png()));
            }
            directory
        })
        .path()
}

fn good_file_path(name: &str) -> PathBuf {
    corpus().join(name)
}

/// Runs ffmpeg, failing the test with its message if it fails (CI installs it from .ci/apt-packages).
fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg must be installed (see .ci/apt-packages)");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn generate_sine(path: &Path, channels: u16, sample_rate_hz: u32, codec_args: &[&str]) {
    let source = format!(
        "aevalsrc={SINE_AMPLITUDE}*sin(2*PI*997*t):s={sample_rate_hz}:d={SIGNAL_SECONDS}:c={}",
        if channels == 1 { "mono" } else { "stereo" }
    );
    let mut args = vec!["-f", "lavfi", "-i", &source, "-map_metadata", "-1"];
    args.extend_from_slice(codec_args);
    let path = path.to_str().expect("utf-8 path");
    args.push(path);
    ffmpeg(&args);
}

/// A 1500 × 1000 PNG gradient: larger than every rendition, and not square.
fn cover_png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(COVER_WIDTH_PIXELS, COVER_HEIGHT_PIXELS, |x, y| {
        image::Rgb([
            u8::try_from(x % 256).unwrap_or(0),
            u8::try_from(y % 256).unwrap_or(0),
            128,
        ])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encode png");
    bytes
}

/// Replaces the file's tags with `tags` (and a front cover, if given) in its primary tag format.
fn write_tags(path: &Path, tags: &Tags, cover: Option<Vec<u8>>) {
    let tagged_file = lofty::read_from_path(path).expect("lofty reads the generated file");
    let mut tag = Tag::new(tagged_file.primary_tag_type());
    let texts = [
        (ItemKey::TrackTitle, &tags.title),
        (ItemKey::TrackArtist, &tags.artist),
        (ItemKey::AlbumTitle, &tags.album),
        (ItemKey::AlbumArtist, &tags.album_artist),
        (ItemKey::Genre, &tags.genre),
    ];
    for (key, value) in texts {
        if let Some(value) = value {
            tag.insert_text(key, value.clone());
        }
    }
    if let Some(track) = tags.track_number {
        tag.set_track(track);
    }
    if let Some(disc) = tags.disc_number {
        tag.set_disk(disc);
    }
    if let Some(year) = tags.year {
        tag.set_date(Timestamp {
            year,
            ..Timestamp::default()
        });
    }
    // Written the way people type it, to check the normalisation.
    tag.insert_text(ItemKey::Isrc, "us-rc1-76-07839".to_owned());
    if let Some(cover) = cover {
        tag.push_picture(
            Picture::unchecked(cover)
                .pic_type(PictureType::CoverFront)
                .mime_type(MimeType::Png)
                .build(),
        );
    }
    tag.save_to_path(path, WriteOptions::default())
        .expect("lofty writes the tags");
}

fn expected_lufs(channels: u16) -> f64 {
    // A sine's mean square is amplitude² / 2; BS.1770 sums the channels' mean squares and adds
    // -0.691 dB, which K-weighting's gain at 997 Hz (+0.691 dB) cancels.
    20.0 * SINE_AMPLITUDE.log10() + 10.0 * (f64::from(channels) / 2.0).log10()
}

/// The analysis of a good file, computed once per test process: several tests look at it.
fn analyse_good(good: &GoodFile) -> Analysis {
    static ANALYSES: OnceLock<Vec<Analysis>> = OnceLock::new();
    let analyses = ANALYSES.get_or_init(|| {
        GOOD_FILES
            .iter()
            .map(|good| {
                analyze_file(&good_file_path(good.name))
                    .unwrap_or_else(|error| panic!("{}: {error}", good.name))
            })
            .collect()
    });
    let index = GOOD_FILES
        .iter()
        .position(|candidate| candidate.name == good.name)
        .expect("a good file");
    analyses[index].clone()
}

fn good_file(name: &str) -> &'static GoodFile {
    GOOD_FILES
        .iter()
        .find(|good| good.name == name)
        .expect("a good file")
}

#[test]
fn good_files_have_exact_properties_tags_artwork_and_loudness() {
    for good in GOOD_FILES {
        let analysis = analyse_good(good);
        let name = good.name;
        assert_eq!(analysis.container, good.container, "{name}");
        assert_eq!(analysis.codec, good.codec, "{name}");
        assert_eq!(analysis.sample_rate_hz, good.sample_rate_hz, "{name}");
        assert_eq!(analysis.channels, good.channels, "{name}");
        assert_eq!(analysis.bits_per_sample, good.bits_per_sample, "{name}");
        let expected_frames = SIGNAL_SECONDS * u64::from(good.sample_rate_hz);
        if good.codec == Codec::Aac {
            // symphonia 0.6 does not apply MP4 edit lists, so AAC keeps its priming and padding
            // frames (under two AAC frames).
            assert!(
                analysis.frame_count.abs_diff(expected_frames) <= 2048,
                "{name}: {} frames",
                analysis.frame_count
            );
        } else {
            // Exact, MP3 included: the LAME header's delay and padding are trimmed.
            assert_eq!(analysis.frame_count, expected_frames, "{name}");
            assert_eq!(analysis.duration_ms, SIGNAL_SECONDS * 1000, "{name}");
        }
        assert_eq!(analysis.tags, expected_tags(), "{name}");
        assert_eq!(analysis.warnings, Vec::<String>::new(), "{name}");

        let (loudness_tolerance_db, peak_tolerance_db) = if good.lossless {
            (0.05, 0.1)
        } else {
            (0.6, 1.0)
        };
        let lufs = analysis
            .loudness
            .integrated_lufs
            .expect("a sine has a loudness");
        assert!(
            (lufs - expected_lufs(good.channels)).abs() <= loudness_tolerance_db,
            "{name}: {lufs} LUFS, expected {}",
            expected_lufs(good.channels)
        );
        let true_peak = analysis.loudness.true_peak_dbtp.expect("a sine has a peak");
        assert!(
            (true_peak - -20.0).abs() <= peak_tolerance_db,
            "{name}: {true_peak} dBTP"
        );

        assert_eq!(analysis.waveform.peaks.len(), WAVEFORM_BINS, "{name}");
        // 0.1 of full scale is 25.5 of 255; lossy codecs wobble, and AAC starts with priming silence.
        let (low, high) = if good.lossless { (25, 26) } else { (22, 29) };
        let middle = &analysis.waveform.peaks[10..WAVEFORM_BINS - 10];
        assert!(
            middle.iter().all(|peak| (low..=high).contains(peak)),
            "{name}: {middle:?}"
        );
    }
}

#[test]
fn artwork_is_validated_and_rendered_at_each_smaller_size() {
    for good in GOOD_FILES {
        let artwork = analyse_good(good)
            .artwork
            .unwrap_or_else(|| panic!("{}: artwork missing", good.name));
        assert_eq!(artwork.original.mime_type, "image/png", "{}", good.name);
        assert_eq!(
            (
                artwork.original.width_pixels,
                artwork.original.height_pixels
            ),
            (COVER_WIDTH_PIXELS, COVER_HEIGHT_PIXELS)
        );
        assert_eq!(artwork.original.bytes, cover_png(), "{}", good.name);
        let sizes: Vec<(u32, u32)> = artwork
            .resized
            .iter()
            .map(|image| (image.width_pixels, image.height_pixels))
            .collect();
        assert_eq!(
            sizes,
            vec![(1200, 800), (600, 400), (300, 200)],
            "{}",
            good.name
        );
        for rendition in &artwork.resized {
            assert_eq!(rendition.mime_type, "image/jpeg");
            let decoded =
                image::load_from_memory_with_format(&rendition.bytes, image::ImageFormat::Jpeg)
                    .expect("a real JPEG");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (rendition.width_pixels, rendition.height_pixels)
            );
        }
    }
}

#[test]
fn the_content_hash_ignores_tags_and_lossless_containers_but_not_the_audio() {
    let hash_of = |name: &str| analyse_good(good_file(name)).audio_sha256;
    // The same 16-bit mono samples in three lossless containers.
    assert_eq!(hash_of("flac.flac"), hash_of("pcm16.aiff"));
    assert_eq!(hash_of("flac.flac"), hash_of("alac.m4a"));
    assert_ne!(hash_of("flac.flac"), hash_of("mp3.mp3"));

    let directory = tempfile::tempdir().expect("temporary directory");
    let retagged = directory.path().join("retagged.flac");
    std::fs::copy(good_file_path("flac.flac"), &retagged).expect("copy");
    let other_tags = Tags {
        title: Some("Another title".to_owned()),
        year: Some(1999),
        ..expected_tags()
    };
    write_tags(&retagged, &other_tags, None);
    let analysis = analyze_file(&retagged).expect("analysis");
    assert_eq!(analysis.tags.title.as_deref(), Some("Another title"));
    assert_eq!(analysis.artwork, None);
    assert_eq!(analysis.audio_sha256, hash_of("flac.flac"));

    let louder = directory.path().join("louder.flac");
    ffmpeg(&[
        "-i",
        good_file_path("flac.flac").to_str().expect("utf-8"),
        "-af",
        "volume=2",
        "-c:a",
        "flac",
        "-sample_fmt",
        "s16",
        louder.to_str().expect("utf-8"),
    ]);
    assert_ne!(
        analyze_file(&louder).expect("analysis").audio_sha256,
        hash_of("flac.flac")
    );
}

#[test]
fn analysis_crosses_a_process_boundary_as_json() {
    let analysis = analyse_good(&GOOD_FILES[0]);
    let json = serde_json::to_string(&analysis).expect("serialize");
    assert_eq!(
        serde_json::from_str::<Analysis>(&json).expect("deserialize"),
        analysis
    );
    let error = AnalysisError::Truncated {
        declared_frames: 10,
        decoded_frames: 5,
    };
    let json = serde_json::to_string(&error).expect("serialize");
    assert_eq!(
        serde_json::from_str::<AnalysisError>(&json).expect("deserialize"),
        error
    );
}

#[test]
fn in_memory_analysis_matches_file_analysis() {
    for good in GOOD_FILES {
        let bytes = std::fs::read(good_file_path(good.name)).expect("read");
        assert_eq!(
            analyze_bytes(&bytes).expect("analysis"),
            analyse_good(good),
            "{}",
            good.name
        );
    }
}

#[test]
fn the_fast_path_reads_the_same_properties_and_tags_without_decoding() {
    for good in GOOD_FILES {
        let fast =
            read_properties_and_tags(&good_file_path(good.name)).expect("properties and tags");
        assert_eq!(fast.container, good.container, "{}", good.name);
        assert_eq!(
            fast.sample_rate_hz,
            Some(good.sample_rate_hz),
            "{}",
            good.name
        );
        assert_eq!(fast.channels, Some(good.channels), "{}", good.name);
        assert_eq!(fast.tags, expected_tags(), "{}", good.name);
        // Headers of lossy files give an estimate; decoding gives the exact figure.
        assert!(
            fast.duration_ms.abs_diff(SIGNAL_SECONDS * 1000) <= 60,
            "{}: {} ms",
            good.name,
            fast.duration_ms
        );
    }
    assert!(matches!(
        read_properties_and_tags(&write_temporary("image.mp3", &cover_png()).1),
        Err(AnalysisError::UnsupportedFormat { .. })
    ));
}

// Hostile files.

/// Writes `bytes` to a new temporary directory as `name`; the directory lives as long as the guard.
fn write_temporary(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    (directory, path)
}

fn analyse_bytes_as(name: &str, bytes: &[u8]) -> Result<Analysis, AnalysisError> {
    let (_directory, path) = write_temporary(name, bytes);
    analyze_file(&path)
}

/// Deterministic noise (xorshift), so that a failure can be reproduced.
fn noise(length: usize, mut state: u64) -> Vec<u8> {
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn good_bytes(name: &str) -> Vec<u8> {
    std::fs::read(good_file_path(name)).expect("read good file")
}

#[test]
fn non_audio_and_unsupported_files_are_refused_naming_what_was_found() {
    let opus = tempfile::tempdir().expect("temporary directory");
    let opus_path = opus.path().join("opus.ogg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=d=1",
        "-c:a",
        "libopus",
        opus_path.to_str().expect("utf-8"),
    ]);
    let matroska_path = opus.path().join("flac.mka");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=d=1",
        "-c:a",
        "flac",
        matroska_path.to_str().expect("utf-8"),
    ]);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.flac", Vec::new(), "the file is empty"),
        ("cover.flac", cover_png(), "unsupported format: PNG image"),
        (
            "notes.mp3",
            b"These are my liner notes.\nNot audio at all.\n".to_vec(),
            "unsupported format: text file",
        ),
        (
            "noise.mp3",
            noise(64 * 1024, 1),
            "unsupported format: unrecognised data",
        ),
        (
            "noise.flac",
            noise(64 * 1024, 2),
            "unsupported format: unrecognised data",
        ),
        (
            "noise.wav",
            noise(64 * 1024, 3),
            "unsupported format: unrecognised data",
        ),
        (
            "noise.m4a",
            noise(64 * 1024, 4),
            "unsupported format: unrecognised data",
        ),
        (
            "opus.ogg",
            std::fs::read(&opus_path).expect("read"),
            "unsupported codec: opus",
        ),
        (
            "flac.mka",
            std::fs::read(&matroska_path).expect("read"),
            "unsupported format: Matroska / WebM",
        ),
    ];
    for (name, bytes, expected_message) in cases {
        let error = analyse_bytes_as(name, &bytes).expect_err(name);
        assert_eq!(error.to_string(), expected_message, "{name}");
    }
}

#[test]
fn truncated_files_of_every_format_are_refused() {
    for good in GOOD_FILES {
        let bytes = good_bytes(good.name);
        // Cuts inside the artwork, in the middle of the audio, and near its end.
        for kept_bytes in [bytes.len() / 2, bytes.len() * 3 / 4, bytes.len() - 1000] {
            let truncated = &bytes[..kept_bytes];
            let error = analyse_bytes_as(good.name, truncated).expect_err(good.name);
            assert_eq!(
                analyze_bytes(truncated),
                Err(error.clone()),
                "{}: in memory as on disk",
                good.name
            );
            assert!(
                matches!(
                    error,
                    AnalysisError::Truncated { .. }
                        | AnalysisError::UnsupportedFormat { .. }
                        | AnalysisError::Malformed { .. }
                        | AnalysisError::NoAudio
                ),
                "{} cut to {kept_bytes} of {} bytes: {error:?}",
                good.name,
                bytes.len()
            );
        }
    }
}

/// The offset of a RIFF/FLAC structure's marker in a generated file.
fn find(bytes: &[u8], marker: &[u8]) -> usize {
    bytes
        .windows(marker.len())
        .position(|window| window == marker)
        .expect("marker present")
}

/// FLAC STREAMINFO starts after "fLaC" and the 4-byte block header; rate, channels, bit depth and
/// total samples are packed into its bytes 10..18.
const STREAMINFO_OFFSET: usize = 8;

fn flac_with_streaminfo(edit: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut bytes = good_bytes("flac.flac");
    edit(&mut bytes[STREAMINFO_OFFSET..STREAMINFO_OFFSET + 34]);
    bytes
}

#[test]
fn an_mp3_whose_length_cannot_be_known_without_decoding_it_all_is_refused_rather_than_cut() {
    // Variable bitrate without a Xing header: symphonia estimates the length from the first frame
    // and would silently drop the rest.
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("vbr-without-xing.mp3");
    let source = format!("aevalsrc={SINE_AMPLITUDE}*sin(2*PI*997*t)*(1+sin(2*PI*t)):s=44100:d=5");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &source,
        "-c:a",
        "libmp3lame",
        "-q:a",
        "4",
        "-write_xing",
        "0",
        path.to_str().expect("utf-8"),
    ]);
    let error = analyze_file(&path).expect_err("refused");
    assert!(
        matches!(&error, AnalysisError::Malformed { reason } if reason.starts_with("the header understates the length")),
        "{error:?}"
    );
}

#[test]
fn headers_declaring_absurd_sizes_are_refused_before_decoding() {
    let mut huge_wav = good_bytes("pcm24.wav");
    let data = find(&huge_wav, b"data");
    huge_wav[data + 4..data + 8].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a WAV data chunk claiming 4 GiB", huge_wav),
        // 2^36 - 1 samples: about 18 days at 44.1 kHz, in a 30 KB file.
        (
            "a FLAC claiming 18 days",
            flac_with_streaminfo(|info| {
                info[13] |= 0x0F;
                info[14..18].fill(0xFF);
            }),
        ),
        (
            "a FLAC at 1 MHz",
            flac_with_streaminfo(|info| {
                info[10] = 0xFF;
                info[11] = 0xFF;
                info[12] |= 0xF0;
            }),
        ),
    ];
    for (description, bytes) in cases {
        let started = Instant::now();
        let error = analyze_bytes(&bytes).expect_err(description);
        assert!(
            matches!(
                error,
                AnalysisError::LimitExceeded { .. }
                    | AnalysisError::Malformed { .. }
                    | AnalysisError::UnsupportedFormat { .. }
            ),
            "{description}: {error:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{description}: refused only after decoding"
        );
    }
}

#[test]
fn a_long_file_that_does_not_declare_its_length_is_stopped_at_the_duration_limit() {
    // A FLAC whose STREAMINFO says "length unknown" (total samples 0) decodes until the limit.
    let unknown_length = flac_with_streaminfo(|info| {
        info[13] &= 0xF0;
        info[14..18].fill(0);
    });
    let (_directory, path) = write_temporary("unknown-length.flac", &unknown_length);
    let limits = AnalysisLimits {
        duration_ms_max: 1000,
        ..AnalysisLimits::default()
    };
    let error = analyze_file_with_limits(&path, &limits).expect_err("longer than the limit");
    assert!(
        matches!(&error, AnalysisError::LimitExceeded { quantity, max: 1000, .. } if quantity == "duration in ms"),
        "{error:?}"
    );
    // Under the product's limits the same file is fine, and its length is found by decoding.
    assert_eq!(
        analyze_file(&path).expect("analysis").frame_count,
        SIGNAL_SECONDS * 44_100
    );
}

#[test]
fn garbage_tags_do_not_prevent_the_analysis_of_valid_audio() {
    // An ID3v2.4 tag of noise in front of a valid MP3.
    let garbage = noise(4000, 5);
    let mut garbage_id3 = b"ID3\x04\x00\x00".to_vec();
    let size = u32::try_from(garbage.len()).expect("small");
    garbage_id3.extend(
        [
            (size >> 21) & 0x7F,
            (size >> 14) & 0x7F,
            (size >> 7) & 0x7F,
            size & 0x7F,
        ]
        .map(|byte| u8::try_from(byte).unwrap_or(0)),
    );
    garbage_id3.extend(&garbage);
    let mp3 = good_bytes("mp3.mp3");
    let audio_start = 10 + usize::try_from(syncsafe_size(&mp3)).expect("small");
    garbage_id3.extend(&mp3[audio_start..]);

    // A FLAC whose Vorbis comment claims a vendor string of 4 GiB.
    let mut flac = good_bytes("flac.flac");
    let vorbis_comment = find_flac_block(&flac, 4);
    flac[vorbis_comment + 4..vorbis_comment + 8].copy_from_slice(&[0xFF; 4]);

    let cases: Vec<(&str, Vec<u8>, u64)> = vec![
        ("garbage.mp3", garbage_id3, SIGNAL_SECONDS * 44_100),
        ("garbage.flac", flac, SIGNAL_SECONDS * 44_100),
    ];
    for (name, bytes, frame_count) in cases {
        match analyse_bytes_as(name, &bytes) {
            Ok(analysis) => {
                assert_eq!(analysis.frame_count, frame_count, "{name}");
                assert_ne!(
                    analysis.tags,
                    expected_tags(),
                    "{name}: garbage read as the original tags"
                );
            }
            // symphonia parses Vorbis comments itself, and refuses the FLAC: a clear error too.
            Err(error) => assert!(
                matches!(
                    error,
                    AnalysisError::Malformed { .. } | AnalysisError::UnsupportedFormat { .. }
                ),
                "{name}: {error:?}"
            ),
        }
    }
}

/// The size of the ID3v2 tag at the start of `bytes` (after its 10-byte header).
fn syncsafe_size(bytes: &[u8]) -> u32 {
    assert_eq!(&bytes[..3], b"ID3", "lofty wrote an ID3v2 tag first");
    bytes[6..10]
        .iter()
        .fold(0, |size, byte| (size << 7) | u32::from(byte & 0x7F))
}

/// The offset of the first FLAC metadata block of `block_type`.
fn find_flac_block(bytes: &[u8], block_type: u8) -> usize {
    let mut offset = 4;
    loop {
        let header = &bytes[offset..offset + 4];
        if header[0] & 0x7F == block_type {
            return offset;
        }
        assert_eq!(header[0] & 0x80, 0, "block {block_type} not found");
        offset += 4 + usize::try_from(u32::from_be_bytes([0, header[1], header[2], header[3]]))
            .expect("small");
    }
}

#[test]
fn artwork_that_is_not_an_image_is_dropped_with_a_warning() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("bad-cover.flac");
    std::fs::copy(good_file_path("flac.flac"), &path).expect("copy");
    write_tags(&path, &expected_tags(), Some(noise(5000, 6)));
    let analysis = analyze_file(&path).expect("the audio is fine");
    assert_eq!(analysis.artwork, None);
    assert_eq!(analysis.tags, expected_tags());
    assert!(
        analysis
            .warnings
            .iter()
            .any(|warning| warning.starts_with("artwork ignored")),
        "{:?}",
        analysis.warnings
    );
}

// The sandbox.

fn child_sandbox(limits: SandboxLimits) -> AnalysisSandbox {
    AnalysisSandbox::new(
        env!("CARGO_BIN_EXE_catalog-analyze"),
        Vec::<String>::new(),
        limits,
    )
}

#[test]
fn the_sandboxed_analysis_equals_the_in_process_one() {
    let sandbox = child_sandbox(SandboxLimits::default());
    for name in ["flac.flac", "mp3.mp3"] {
        assert_eq!(
            sandbox.analyze(&good_file_path(name)),
            Ok(analyse_good(good_file(name))),
            "{name}"
        );
    }
    let (_directory, png) = write_temporary("cover.flac", &cover_png());
    assert_eq!(
        sandbox.analyze(&png),
        Err(AnalysisError::UnsupportedFormat {
            found: "PNG image".to_owned()
        })
    );
}

#[test]
fn a_child_that_runs_out_of_its_address_space_is_reported_as_out_of_memory() {
    // Artwork of 3000 × 3000 pixels needs 27 MB to decode: more than the child may have here,
    // although the rest of the analysis of this file fits in 16 MiB.
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("huge-cover.flac");
    std::fs::copy(good_file_path("flac.flac"), &path).expect("copy");
    let mut huge_png = Vec::new();
    image::RgbImage::new(3000, 3000)
        .write_to(&mut Cursor::new(&mut huge_png), image::ImageFormat::Png)
        .expect("encode");
    write_tags(&path, &expected_tags(), Some(huge_png));
    let limits = SandboxLimits {
        address_space_bytes: 24 * 1024 * 1024,
        ..SandboxLimits::default()
    };
    assert_eq!(
        child_sandbox(limits).analyze(&path),
        Err(AnalysisError::OutOfMemory { limit_mib: 24 })
    );
    // The same file with the default limits is analysed.
    assert!(
        child_sandbox(SandboxLimits::default())
            .analyze(&path)
            .is_ok()
    );
}

/// A stand-in child written in shell, to reach the failures a real decoder reaches only on rare files.
fn shell_sandbox(script: &str, limits: SandboxLimits) -> AnalysisSandbox {
    AnalysisSandbox::new("/bin/sh", ["-c", script, "child"], limits)
}

#[test]
fn crashes_timeouts_and_runaway_children_become_clear_errors() {
    let short = SandboxLimits {
        wall_clock: Duration::from_secs(1),
        cpu_seconds: 1,
        ..SandboxLimits::default()
    };
    let file = good_file_path("flac.flac");
    let cases: Vec<(&str, AnalysisError)> = vec![
        (
            "kill -SEGV $$",
            AnalysisError::Crashed {
                detail: "killed by signal 11".to_owned(),
            },
        ),
        (
            "kill -ABRT $$",
            AnalysisError::Crashed {
                detail: "killed by signal 6".to_owned(),
            },
        ),
        (
            "echo \"thread 'main' panicked at src/decoder.rs:1:1:\" >&2; exit 101",
            AnalysisError::Crashed {
                detail: "exited with status 101; thread 'main' panicked at src/decoder.rs:1:1:"
                    .to_owned(),
            },
        ),
        (
            "echo 'memory allocation of 4294967296 bytes failed' >&2; kill -ABRT $$",
            AnalysisError::OutOfMemory { limit_mib: 1024 },
        ),
        ("sleep 30", AnalysisError::TimedOut { limit_seconds: 1 }),
    ];
    for (script, expected) in cases {
        let started = Instant::now();
        assert_eq!(
            shell_sandbox(script, short).analyze(&file),
            Err(expected),
            "{script}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{script}: took {:?}",
            started.elapsed()
        );
    }

    let spinning = SandboxLimits {
        wall_clock: Duration::from_secs(20),
        ..short
    };
    assert_eq!(
        shell_sandbox("ulimit -S -t 1; while :; do :; done", spinning).analyze(&file),
        Err(AnalysisError::CpuTimeExceeded { limit_seconds: 1 })
    );

    let garbled = shell_sandbox("echo not json", short).analyze(&file);
    assert!(
        matches!(&garbled, Err(AnalysisError::SandboxFailed { message }) if message.starts_with("unreadable output of the child process")),
        "{garbled:?}"
    );
    let missing = AnalysisSandbox::new("/nonexistent/catalog-analyze", Vec::<String>::new(), short);
    assert!(matches!(
        missing.analyze(&file),
        Err(AnalysisError::SandboxFailed { .. })
    ));
}

#[test]
fn every_refusal_reads_as_a_sentence_for_the_artist() {
    let errors = [
        (
            AnalysisError::Crashed {
                detail: "killed by signal 11".to_owned(),
            },
            "the file could not be analysed: decoder crashed",
        ),
        (
            AnalysisError::TimedOut { limit_seconds: 120 },
            "the file could not be analysed: timed out after 120 s",
        ),
        (
            AnalysisError::OutOfMemory { limit_mib: 1024 },
            "the file could not be analysed: it needed more than 1024 MiB of memory",
        ),
        (
            AnalysisError::LimitExceeded {
                quantity: "duration in ms".to_owned(),
                value: 9,
                max: 8,
            },
            "duration in ms of 9 exceeds the limit of 8",
        ),
        (
            AnalysisError::UnsupportedCodec {
                found: "opus".to_owned(),
            },
            "unsupported codec: opus",
        ),
    ];
    for (error, message) in errors {
        assert_eq!(error.to_string(), message);
    }
}
