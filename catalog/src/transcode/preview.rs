//! Which stretch of a track its preview plays: 30 seconds from a quarter of the way in (past
//! most intros), faded in and out over a second so it neither clicks nor stops dead; the whole
//! track when it is not longer than a preview.

/// The length of a preview.
pub const PREVIEW_DURATION_MS: u64 = 30_000;
/// The length of the fade at each end of a preview cut from inside a track.
pub const PREVIEW_FADE_MS: u64 = 1_000;
/// Where the preview starts, as a share of the track.
const PREVIEW_START_PERCENT: u64 = 25;

/// A stretch of the source, in frames, with its fades.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Clip {
    pub(super) start_frame: u64,
    pub(super) end_frame: u64,
    fade_in_frames: u64,
    fade_out_frames: u64,
}

impl Clip {
    /// The preview of a track of `total_frames` frames.
    pub(super) fn of_track(total_frames: u64, sample_rate_hz: u32) -> Clip {
        let length_frames = ms_to_frames(PREVIEW_DURATION_MS, sample_rate_hz);
        if total_frames <= length_frames {
            return Clip {
                start_frame: 0,
                end_frame: total_frames,
                fade_in_frames: 0,
                fade_out_frames: 0,
            };
        }
        let start_frame =
            (total_frames / 100 * PREVIEW_START_PERCENT).min(total_frames - length_frames);
        let end_frame = start_frame + length_frames;
        let fade_frames = ms_to_frames(PREVIEW_FADE_MS, sample_rate_hz);
        Clip {
            start_frame,
            end_frame,
            // A preview that starts at the track's own start, or ends at its end, needs no fade there.
            fade_in_frames: if start_frame > 0 { fade_frames } else { 0 },
            fade_out_frames: if end_frame < total_frames {
                fade_frames
            } else {
                0
            },
        }
    }

    /// The gain of the source's frame `frame`, or `None` when the clip leaves it out.
    pub(super) fn gain(&self, frame: u64) -> Option<f32> {
        if frame < self.start_frame || frame >= self.end_frame {
            return None;
        }
        let into_clip = frame - self.start_frame;
        let before_end = self.end_frame - 1 - frame;
        let ramp = |position: u64, fade_frames: u64| {
            if position >= fade_frames {
                return 1.0;
            }
            // 65,536 steps of gain: finer than anyone hears, and exact in f32.
            let step =
                u16::try_from(position * u64::from(u16::MAX) / fade_frames).unwrap_or(u16::MAX);
            f32::from(step) / f32::from(u16::MAX)
        };
        Some(ramp(into_clip, self.fade_in_frames).min(ramp(before_end, self.fade_out_frames)))
    }
}

fn ms_to_frames(duration_ms: u64, sample_rate_hz: u32) -> u64 {
    duration_ms.saturating_mul(u64::from(sample_rate_hz)) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE_HZ: u32 = 1000;

    #[test]
    fn a_preview_is_thirty_seconds_from_a_quarter_in_or_the_whole_short_track() {
        // (track length, expected start, expected end, fades?) in frames at 1 kHz, i.e. ms.
        let cases = [
            (10_000, 0, 10_000, false, false),
            (30_000, 0, 30_000, false, false),
            (30_001, 1, 30_001, true, false),
            (40_000, 10_000, 40_000, true, false),
            (120_000, 30_000, 60_000, true, true),
            (7_200_000, 1_800_000, 1_830_000, true, true),
        ];
        for (total, start, end, fade_in, fade_out) in cases {
            let clip = Clip::of_track(total, RATE_HZ);
            assert_eq!(
                (clip.start_frame, clip.end_frame),
                (start, end),
                "track of {total} frames"
            );
            assert_eq!(
                (clip.fade_in_frames > 0, clip.fade_out_frames > 0),
                (fade_in, fade_out),
                "track of {total} frames"
            );
        }
    }

    #[test]
    fn the_gain_ramps_over_the_fades_and_is_full_between() {
        let clip = Clip::of_track(120_000, RATE_HZ);
        // (source frame, expected gain) around both fades.
        let cases = [
            (29_999, None),
            (30_000, Some(0.0)),
            (30_500, Some(0.5)),
            (31_000, Some(1.0)),
            (45_000, Some(1.0)),
            (59_499, Some(0.5)),
            (59_999, Some(0.0)),
            (60_000, None),
        ];
        for (frame, expected) in cases {
            let gain = clip.gain(frame);
            let close = match (gain, expected) {
                (Some(gain), Some(expected)) => (gain - expected).abs() < 1e-4,
                (gain, expected) => gain.is_none() && expected.is_none(),
            };
            assert!(close, "frame {frame}: gain {gain:?}, expected {expected:?}");
        }
        let whole = Clip::of_track(10_000, RATE_HZ);
        assert_eq!(
            (whole.gain(0), whole.gain(9_999), whole.gain(10_000)),
            (Some(1.0), Some(1.0), None)
        );
    }
}
