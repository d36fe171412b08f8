//! Generated audio: WAV files with RIFF INFO tags, used by the demo catalog and by the tests, so
//! neither needs recordings or external tools.

/// The sample rate of all generated audio.
pub const SAMPLE_RATE_HZ: u32 = 44_100;
const CHANNELS: u16 = 2;

/// A 16-bit stereo WAV holding `samples` (mono, -1.0..=1.0) on both channels, tagged with
/// `INAM` (title), `IART` (artist) and `IPRD` (album).
pub fn tagged_wav_from_samples(samples: &[f32], title: &str, artist: &str, album: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(samples.len() * 4);
    for sample in samples {
        let scaled = (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round();
        #[allow(
            clippy::as_conversions,
            reason = "clamped and rounded to the i16 range just above"
        )]
        let sample = scaled as i16;
        for _ in 0..CHANNELS {
            data.extend_from_slice(&sample.to_le_bytes());
        }
    }
    let mut info = b"INFO".to_vec();
    for (id, text) in [(b"INAM", title), (b"IART", artist), (b"IPRD", album)] {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        if value.len() % 2 == 1 {
            value.push(0);
        }
        info.extend_from_slice(id);
        info.extend_from_slice(&chunk_length(&value));
        info.extend_from_slice(&value);
    }
    let mut format = Vec::new();
    format.extend_from_slice(&1u16.to_le_bytes());
    format.extend_from_slice(&CHANNELS.to_le_bytes());
    format.extend_from_slice(&SAMPLE_RATE_HZ.to_le_bytes());
    format.extend_from_slice(&(SAMPLE_RATE_HZ * u32::from(CHANNELS) * 2).to_le_bytes());
    format.extend_from_slice(&(CHANNELS * 2).to_le_bytes());
    format.extend_from_slice(&16u16.to_le_bytes());
    let mut body = b"WAVE".to_vec();
    for (id, chunk) in [(b"fmt ", &format), (b"LIST", &info), (b"data", &data)] {
        body.extend_from_slice(id);
        body.extend_from_slice(&chunk_length(chunk));
        body.extend_from_slice(chunk);
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&chunk_length(&body));
    file.extend_from_slice(&body);
    file
}

fn chunk_length(chunk: &[u8]) -> [u8; 4] {
    u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_le_bytes()
}

/// A steady sine tone.
pub fn tagged_wav(
    seconds: u32,
    frequency_hz: u32,
    title: &str,
    artist: &str,
    album: &str,
) -> Vec<u8> {
    let frames = seconds * SAMPLE_RATE_HZ;
    let step = f64::from(frequency_hz) * std::f64::consts::TAU / f64::from(SAMPLE_RATE_HZ);
    #[allow(clippy::as_conversions, reason = "a sine in -0.25..=0.25 fits f32")]
    let samples: Vec<f32> = (0..frames)
        .map(|frame| ((f64::from(frame) * step).sin() * 0.25) as f32)
        .collect();
    tagged_wav_from_samples(&samples, title, artist, album)
}

/// A little tune: `notes` (semitones above A3, played in turn) as plucked tones with a soft
/// octave overtone, so the demo catalog sounds like music rather than a test signal.
pub fn melody(seconds: u32, notes: &[i32], beat_ms: u32) -> Vec<f32> {
    let frames = usize::try_from(seconds * SAMPLE_RATE_HZ).unwrap_or(0);
    let beat_frames = usize::try_from(SAMPLE_RATE_HZ * beat_ms / 1000)
        .unwrap_or(1)
        .max(1);
    let rate = f64::from(SAMPLE_RATE_HZ);
    (0..frames)
        .map(|frame| {
            let beat = frame / beat_frames;
            let Some(&semitone) = notes.get(beat % notes.len().max(1)) else {
                return 0.0;
            };
            let frequency = 220.0 * 2f64.powf(f64::from(semitone) / 12.0);
            #[allow(clippy::as_conversions, reason = "frame counts fit f64 exactly")]
            let time_in_note = (frame % beat_frames) as f64 / rate;
            #[allow(clippy::as_conversions, reason = "frame counts fit f64 exactly")]
            let time = frame as f64 / rate;
            let envelope = (-time_in_note * 4.0).exp() * (time_in_note * 200.0).min(1.0);
            let tone = (time * frequency * std::f64::consts::TAU).sin()
                + 0.3 * (time * frequency * 2.0 * std::f64::consts::TAU).sin();
            #[allow(clippy::as_conversions, reason = "bounded well inside f32")]
            let sample = (tone * envelope * 0.3) as f32;
            sample
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_files_have_consistent_chunk_sizes() {
        let file = tagged_wav(1, 440, "Title", "Artist", "Album");
        let riff_length = u32::from_le_bytes(file[4..8].try_into().unwrap());
        assert_eq!(usize::try_from(riff_length).unwrap(), file.len() - 8);
        let data_at = file
            .windows(4)
            .position(|window| window == b"data")
            .unwrap();
        let data_length = u32::from_le_bytes(file[data_at + 4..data_at + 8].try_into().unwrap());
        assert_eq!(
            data_length,
            SAMPLE_RATE_HZ * 4,
            "one second of 16-bit stereo"
        );
    }

    #[test]
    fn melodies_stay_in_range() {
        let samples = melody(2, &[0, 3, 5, 7, 10], 250);
        assert_eq!(samples.len(), usize::try_from(2 * SAMPLE_RATE_HZ).unwrap());
        assert!(samples.iter().all(|sample| sample.abs() <= 1.0));
        assert!(samples.iter().any(|sample| sample.abs() > 0.1), "audible");
    }
}
