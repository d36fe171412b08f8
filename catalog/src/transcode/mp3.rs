//! MP3 encoding with LAME: constant 320 kbps, V0 variable bitrate, and the preview's 128 kbps.
//! Every file carries a LAME tag (Xing/Info frame), which gives decoders the exact length and the
//! encoder delay and padding to trim, so a transcode is as long as its source.

use std::io::{Seek, SeekFrom, Write};
use std::num::NonZeroU32;

use mp3lame_encoder::{
    Bitrate, Builder, Encoder, FlushGap, InterleavedPcm, Mode, MonoPcm, Quality, VbrMode,
};

use super::TranscodeError;
use super::decode::DecodedSource;
use super::preview::Clip;

/// The most bytes a final flush produces, as LAME documents.
const FLUSH_BYTES_MAX: usize = 7200;

/// How one kind of MP3 is encoded.
#[derive(Clone, Copy)]
pub(super) struct Mp3Settings {
    /// A constant bitrate, or `None` for LAME's best variable bitrate (V0).
    bitrate: Option<Bitrate>,
    quality: Quality,
}

impl Mp3Settings {
    /// LAME's `-b 320 -q 2`.
    pub(super) const CBR_320: Mp3Settings = Mp3Settings {
        bitrate: Some(Bitrate::Kbps320),
        quality: Quality::NearBest,
    };
    /// LAME's `-V 0 -q 2`.
    pub(super) const VBR_V0: Mp3Settings = Mp3Settings {
        bitrate: None,
        quality: Quality::NearBest,
    };
    /// A preview is heard once in a browser: 128 kbps at LAME's fast default quality.
    pub(super) const PREVIEW: Mp3Settings = Mp3Settings {
        bitrate: Some(Bitrate::Kbps128),
        quality: Quality::Good,
    };
}

/// Encodes `source` (only `clip` of it when given) as MP3 into `output`, which must start empty.
pub(super) fn encode(
    mut source: DecodedSource,
    output: &mut (impl Write + Seek),
    settings: Mp3Settings,
    clip: Option<Clip>,
) -> Result<(), TranscodeError> {
    let source_channels = usize::from(source.channels);
    // MP3 carries one or two channels: surround sources are folded into stereo.
    let output_channels: u8 = if source_channels == 1 { 1 } else { 2 };
    let mut encoder = build_encoder(source.sample_rate_hz, output_channels, settings)?;
    let mut decoded: Vec<f32> = Vec::new();
    let mut pcm: Vec<f32> = Vec::new();
    let mut mp3: Vec<u8> = Vec::new();
    let mut next_frame = 0_u64;
    while source.next_block(&mut decoded)? {
        pcm.clear();
        for frame in decoded.chunks_exact(source_channels) {
            let gain = match clip {
                Some(clip) => clip.gain(next_frame),
                None => Some(1.0),
            };
            next_frame += 1;
            if let Some(gain) = gain {
                push_frame(frame, gain, output_channels, &mut pcm);
            }
        }
        encode_block(&mut encoder, &pcm, output_channels, &mut mp3)?;
        output
            .write_all(&mp3)
            .map_err(|error| TranscodeError::io(&error))?;
        if clip.is_some_and(|clip| next_frame >= clip.end_frame) {
            break;
        }
    }
    mp3.clear();
    mp3.reserve(FLUSH_BYTES_MAX);
    // `FlushGap` pads and encodes the samples LAME still buffers (`FlushNoGap` would leave them
    // for a following file) and records the padding that the LAME tag tells decoders to trim.
    encoder
        .flush_to_vec::<FlushGap>(&mut mp3)
        .map_err(TranscodeError::encode)?;
    output
        .write_all(&mp3)
        .map_err(|error| TranscodeError::io(&error))?;
    write_lame_tag(&encoder, output)
}

fn build_encoder(
    sample_rate_hz: u32,
    channels: u8,
    settings: Mp3Settings,
) -> Result<Encoder, TranscodeError> {
    let mut builder =
        Builder::new().ok_or_else(|| TranscodeError::encode("LAME could not be initialised"))?;
    builder
        .set_sample_rate(sample_rate_hz)
        .map_err(TranscodeError::encode)?;
    builder
        .set_output_sample_rate(NonZeroU32::new(output_sample_rate_hz(sample_rate_hz)))
        .map_err(TranscodeError::encode)?;
    builder
        .set_num_channels(channels)
        .map_err(TranscodeError::encode)?;
    builder
        .set_mode(if channels == 1 {
            Mode::Mono
        } else {
            Mode::JointStereo
        })
        .map_err(TranscodeError::encode)?;
    builder
        .set_quality(settings.quality)
        .map_err(TranscodeError::encode)?;
    builder
        .set_to_write_vbr_tag(true)
        .map_err(TranscodeError::encode)?;
    match settings.bitrate {
        Some(bitrate) => {
            builder
                .set_vbr_mode(VbrMode::Off)
                .map_err(TranscodeError::encode)?;
            builder.set_brate(bitrate).map_err(TranscodeError::encode)?;
        }
        None => {
            builder
                .set_vbr_mode(VbrMode::Mtrh)
                .map_err(TranscodeError::encode)?;
            builder
                .set_vbr_quality(Quality::Best)
                .map_err(TranscodeError::encode)?;
        }
    }
    builder.build().map_err(TranscodeError::encode)
}

/// MPEG-1 layer III rates only (the ones 320 kbps exists at): 32 and 48 kHz sources keep their
/// rate, the 48 kHz family above it goes to 48 kHz, everything else to 44.1 kHz.
fn output_sample_rate_hz(source_hz: u32) -> u32 {
    match source_hz {
        32_000 => 32_000,
        rate if rate >= 48_000 && rate % 48_000 == 0 => 48_000,
        _ => 44_100,
    }
}

/// Appends one source frame, scaled by `gain`, as `channels` samples: the first channel for mono,
/// the first two for stereo, and for surround the mean of the even and of the odd channels.
fn push_frame(frame: &[f32], gain: f32, channels: u8, pcm: &mut Vec<f32>) {
    match (channels, frame) {
        (1, [only, ..]) => pcm.push(only * gain),
        (_, [left, right]) => pcm.extend([left * gain, right * gain]),
        _ => {
            let mean = |samples: &mut dyn Iterator<Item = &f32>| {
                let (sum, count) = samples.fold((0.0_f32, 0_u16), |(sum, count), sample| {
                    (sum + sample, count + 1)
                });
                sum / f32::from(count.max(1))
            };
            pcm.push(mean(&mut frame.iter().step_by(2)) * gain);
            pcm.push(mean(&mut frame.iter().skip(1).step_by(2)) * gain);
        }
    }
}

fn encode_block(
    encoder: &mut Encoder,
    pcm: &[f32],
    channels: u8,
    mp3: &mut Vec<u8>,
) -> Result<(), TranscodeError> {
    mp3.clear();
    let frames = pcm.len() / usize::from(channels);
    mp3.reserve(mp3lame_encoder::max_required_buffer_size(frames));
    let written = if channels == 1 {
        encoder.encode_to_vec(MonoPcm(pcm), mp3)
    } else {
        encoder.encode_to_vec(InterleavedPcm(pcm), mp3)
    };
    written.map(|_| ()).map_err(TranscodeError::encode)
}

/// LAME begins the stream with a placeholder frame of the tag's size; the tag replaces it once
/// the whole stream is known.
fn write_lame_tag(
    encoder: &Encoder,
    output: &mut (impl Write + Seek),
) -> Result<(), TranscodeError> {
    let mut tag = Vec::with_capacity(encoder.lame_tag_size());
    encoder
        .lame_tag_encode_to_vec(&mut tag)
        .ok_or_else(|| TranscodeError::encode("LAME produced no tag"))?;
    output
        .seek(SeekFrom::Start(0))
        .map_err(|error| TranscodeError::io(&error))?;
    output
        .write_all(&tag)
        .map_err(|error| TranscodeError::io(&error))
}
