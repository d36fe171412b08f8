//! Audio made by the tests themselves: WAV files with RIFF INFO tags, written in Rust so that
//! the API tests need no external tools.

/// A 16-bit stereo WAV of a sine tone with `INAM` (title), `IART` (artist) and `IPRD` (album).
pub fn tagged_wav(seconds: u32, frequency_hz: u32, title: &str, artist: &str, album: &str) -> Vec<u8> {
    const SAMPLE_RATE_HZ: u32 = 44_100;
    const CHANNELS: u16 = 2;
    let frames = seconds * SAMPLE_RATE_HZ;
    let mut data = Vec::with_capacity(usize::try_from(frames).unwrap() * 4);
    for frame in 0..frames {
        let phase = f64::from(frame) * f64::from(frequency_hz) * std::f64::consts::TAU / f64::from(SAMPLE_RATE_HZ);
        #[allow(clippy::as_conversions, reason = "a test tone's sample fits i16 by construction")]
        let sample = (phase.sin() * 8000.0) as i16;
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
        info.extend_from_slice(&u32::try_from(value.len()).unwrap().to_le_bytes());
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
        body.extend_from_slice(&u32::try_from(chunk.len()).unwrap().to_le_bytes());
        body.extend_from_slice(chunk);
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    file.extend_from_slice(&body);
    file
}
