//! FLAC encoding with flacenc, one frame at a time so that memory stays flat whatever the length:
//! a placeholder header first, the frames, then the real STREAMINFO (length, MD5, frame sizes)
//! written over the placeholder.

use std::io::{Seek, SeekFrom, Write};

use flacenc::bitsink::{BitSink, ByteSink};
use flacenc::component::{BitRepr, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Context, Fill, FrameBuf};

use super::TranscodeError;
use super::decode::DecodedSource;

/// The deepest samples written: 24 bits is what FLAC players support widely; deeper (32-bit
/// integer or floating-point) sources are rounded to it.
const BITS_PER_SAMPLE_MAX: u32 = 24;
/// `fLaC`, the metadata block header and the 34 bytes of STREAMINFO.
const HEADER_BYTES: usize = 4 + 4 + 34;
/// STREAMINFO's block type (0) with the "last metadata block" flag.
const LAST_STREAMINFO_BLOCK_TYPE: u8 = 0x80;
const STREAMINFO_BYTES: u32 = 34;

/// Encodes a lossless `source` as FLAC at its own bit depth into `output`, which must start empty.
pub(super) fn encode(
    mut source: DecodedSource,
    output: &mut (impl Write + Seek),
) -> Result<(), TranscodeError> {
    if !source.is_lossless {
        return Err(TranscodeError::LossySource {
            codec: source.codec_name.to_owned(),
        });
    }
    let bits_per_sample = source
        .bits_per_sample
        .ok_or_else(|| TranscodeError::Unreadable {
            reason: "the source does not declare its bit depth".to_owned(),
        })?
        .min(BITS_PER_SAMPLE_MAX);
    // symphonia scales every sample to the full 32-bit range; this takes it back to the source's.
    let shift = 32 - bits_per_sample;
    let channels = usize::from(source.channels);
    let bits = usize::try_from(bits_per_sample).map_err(TranscodeError::encode)?;
    let sample_rate_hz = usize::try_from(source.sample_rate_hz).map_err(TranscodeError::encode)?;
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, error)| TranscodeError::encode(error))?;
    let block_size = config.block_size;
    let mut stream_info =
        StreamInfo::new(sample_rate_hz, channels, bits).map_err(TranscodeError::encode)?;
    let mut framebuf = FrameBuf::with_size(channels, block_size).map_err(TranscodeError::encode)?;
    let mut context = Context::new(bits, channels);

    output
        .write_all(&[0; HEADER_BYTES])
        .map_err(|error| TranscodeError::io(&error))?;
    let mut sink = ByteSink::new();
    let mut decoded: Vec<i32> = Vec::new();
    let mut pending: Vec<i32> = Vec::new();
    let block_samples = block_size * channels;
    let mut frame_number = 0_usize;
    let mut more = true;
    while more {
        more = source.next_block(&mut decoded)?;
        if more {
            pending.extend(decoded.iter().map(|sample| sample >> shift));
        }
        // Full blocks while decoding goes on; the shorter last block once it has ended.
        while pending.len() >= block_samples || (!more && !pending.is_empty()) {
            let take = pending.len().min(block_samples);
            (&mut framebuf, &mut context)
                .fill_interleaved(&pending[..take])
                .map_err(TranscodeError::encode)?;
            pending.drain(..take);
            let frame =
                flacenc::encode_fixed_size_frame(&config, &framebuf, frame_number, &stream_info)
                    .map_err(TranscodeError::encode)?;
            stream_info.update_frame_info(&frame);
            sink.clear();
            frame
                .write(&mut sink)
                .map_err(|error| TranscodeError::encode(format!("{error:?}")))?;
            output
                .write_all(sink.as_slice())
                .map_err(|error| TranscodeError::io(&error))?;
            frame_number += 1;
        }
    }
    stream_info
        .set_block_sizes(block_size, block_size)
        .map_err(TranscodeError::encode)?;
    stream_info.set_md5_digest(&context.md5_digest());
    write_header(&stream_info, output)
}

fn write_header(
    stream_info: &StreamInfo,
    output: &mut (impl Write + Seek),
) -> Result<(), TranscodeError> {
    let mut sink = ByteSink::new();
    let written = sink
        .write_bytes_aligned(b"fLaC")
        .and_then(|_| sink.write(LAST_STREAMINFO_BLOCK_TYPE))
        .and_then(|_| sink.write_lsbs(STREAMINFO_BYTES, 24));
    written.map_err(|error| TranscodeError::encode(format!("{error:?}")))?;
    stream_info
        .write(&mut sink)
        .map_err(|error| TranscodeError::encode(format!("{error:?}")))?;
    output
        .seek(SeekFrom::Start(0))
        .map_err(|error| TranscodeError::io(&error))?;
    output
        .write_all(sink.as_slice())
        .map_err(|error| TranscodeError::io(&error))
}
