//! Waveform peaks for the player: the peak amplitude of each of [`WAVEFORM_BINS`] equal stretches
//! of a track whose length is only known once it is decoded, in memory bounded by the bin count.

/// How many peaks a waveform has: one per pixel column of a wide player.
pub const WAVEFORM_BINS: usize = 1000;

/// Collects the peak of each block of `block_frames` frames; when `2 × WAVEFORM_BINS` blocks are
/// full, neighbouring blocks merge and the block length doubles, so at most that many are kept
/// and, at the end, every bin covers one or two whole blocks.
pub(super) struct WaveformBuilder {
    block_peaks: Vec<f32>,
    block_frames: u64,
    current_peak: f32,
    frames_in_current_block: u64,
}

impl WaveformBuilder {
    pub(super) fn new() -> Self {
        Self {
            block_peaks: Vec::with_capacity(2 * WAVEFORM_BINS),
            block_frames: 1,
            current_peak: 0.0,
            frames_in_current_block: 0,
        }
    }

    /// Adds one frame, given as its largest absolute sample over all channels.
    pub(super) fn add_frame_peak(&mut self, peak: f32) {
        self.current_peak = self.current_peak.max(peak);
        self.frames_in_current_block += 1;
        if self.frames_in_current_block == self.block_frames {
            self.block_peaks.push(self.current_peak);
            self.current_peak = 0.0;
            self.frames_in_current_block = 0;
            if self.block_peaks.len() == 2 * WAVEFORM_BINS {
                self.merge_neighbouring_blocks();
            }
        }
    }

    fn merge_neighbouring_blocks(&mut self) {
        let merged: Vec<f32> = self
            .block_peaks
            .chunks(2)
            .map(|pair| pair.iter().fold(0.0_f32, |a, b| a.max(*b)))
            .collect();
        self.block_peaks = merged;
        self.block_frames *= 2;
    }

    pub(super) fn finish(mut self) -> super::Waveform {
        if self.frames_in_current_block > 0 {
            self.block_peaks.push(self.current_peak);
        }
        let block_count = self.block_peaks.len();
        let bin_count = WAVEFORM_BINS.min(block_count);
        let peaks = (0..bin_count)
            .map(|bin| {
                let start = bin * block_count / bin_count;
                let end = ((bin + 1) * block_count / bin_count).max(start + 1);
                let peak = self.block_peaks[start..end]
                    .iter()
                    .fold(0.0_f32, |a, b| a.max(*b));
                to_byte(peak)
            })
            .collect();
        super::Waveform { peaks }
    }
}

/// Maps an amplitude (1.0 = full scale; decoders may overshoot) linearly onto 0..=255.
fn to_byte(amplitude: f32) -> u8 {
    let scaled = (amplitude.clamp(0.0, 1.0) * 255.0).round();
    // The clamp above keeps `scaled` within 0..=255, so the conversion is exact.
    #[allow(clippy::as_conversions)]
    let byte = scaled as u8;
    byte
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waveform_of(frame_peaks: impl IntoIterator<Item = f32>) -> Vec<u8> {
        let mut builder = WaveformBuilder::new();
        for peak in frame_peaks {
            builder.add_frame_peak(peak);
        }
        builder.finish().peaks
    }

    #[test]
    fn long_tracks_have_exactly_the_bin_count_and_keep_the_loudest_stretch_in_place() {
        for frame_count in [1000_usize, 1001, 4096, 44_100 * 3 + 7, 1_000_003] {
            // Full scale in the second tenth of the track, quiet elsewhere.
            let peaks = waveform_of((0..frame_count).map(|frame| {
                if frame * 10 / frame_count == 1 {
                    1.0
                } else {
                    0.1
                }
            }));
            assert_eq!(peaks.len(), WAVEFORM_BINS, "frames {frame_count}");
            let loud: Vec<usize> = peaks
                .iter()
                .enumerate()
                .filter(|(_, peak)| **peak == 255)
                .map(|(bin, _)| bin)
                .collect();
            let first = loud.first().copied().unwrap_or(usize::MAX);
            let last = loud.last().copied().unwrap_or(0);
            assert!(
                (99..=101).contains(&first) && (198..=200).contains(&last),
                "frames {frame_count}: loud bins {first}..={last}"
            );
            assert_eq!(peaks[500], 26, "frames {frame_count}");
        }
    }

    #[test]
    fn short_tracks_have_one_bin_per_frame() {
        assert_eq!(
            waveform_of([0.0, 0.5, 1.0, 2.0, -1.0]),
            vec![0, 128, 255, 255, 0]
        );
    }
}
