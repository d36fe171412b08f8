//! Generated audio: a small deterministic synthesiser (chords, bass, drums and a melody in a
//! release's key, tempo and timbre) and WAV files with tags and embedded cover art.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The sample rate of all generated audio.
pub const SAMPLE_RATE_HZ: u32 = 44_100;
const CHANNELS: u16 = 2;
/// Samples in one cycle of a wavetable; linear interpolation between them is clean enough for
/// the few harmonics the tables hold.
const WAVETABLE_SAMPLES: usize = 2048;
/// Where a song's loudest sample lands after normalising (about -1 dBFS).
const PEAK_TARGET: f32 = 0.89;
const FADE_IN_SECONDS: f32 = 0.05;
const FADE_OUT_SECONDS: f32 = 1.5;
/// A 16-step bar of sixteenth notes.
const STEPS_PER_BAR: usize = 16;
/// Bars of pad and hi-hat before the band comes in.
const INTRO_BARS: usize = 2;

/// The lead instrument's sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timbre {
    /// A plucked tone with a soft octave overtone.
    Pluck,
    /// A hollow, odd-harmonic square lead.
    Square,
    /// A bright sawtooth lead.
    Saw,
    /// Inharmonic partials with a quick decay, like a glockenspiel.
    Bell,
    /// Sustained drawbar-organ harmonics.
    Organ,
}

/// The drum and bass pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Groove {
    FourOnTheFloor,
    Backbeat,
    Halftime,
    Shuffle,
    Sparse,
}

/// What makes one release sound like itself; each track adds its own seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// The key's root in semitones above A (0 = A, 3 = C, …).
    pub key_semitones: i32,
    pub minor: bool,
    pub tempo_bpm: u32,
    pub lead: Timbre,
    pub groove: Groove,
}

/// Two channels of samples in -1.0..=1.0, of equal length.
pub struct Stereo {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

/// A deterministic song of `seconds` in `style`: an intro of pad and hi-hats, then chords, bass,
/// drums and a two-phrase melody (A A B A) over a four-chord progression, fading out at the end.
/// The same style, seed and length always give the same samples.
pub fn song(style: &Style, seed: u64, seconds: u32) -> Stereo {
    let mut random = SplitMix64(seed ^ 0x6d65_6761_626f_7821);
    let frames = usize::try_from(seconds * SAMPLE_RATE_HZ).unwrap_or(0);
    let mut out = Stereo {
        left: vec![0.0; frames],
        right: vec![0.0; frames],
    };
    let step_frames = usize::try_from(SAMPLE_RATE_HZ * 15 / style.tempo_bpm.max(30)).unwrap_or(1);
    let bar_frames = step_frames * STEPS_PER_BAR;
    let bars = frames.div_ceil(bar_frames.max(1));
    let scale: &[i32; 7] = if style.minor { &MINOR } else { &MAJOR };
    let progressions: &[[i32; 4]] = if style.minor {
        &MINOR_PROGRESSIONS
    } else {
        &MAJOR_PROGRESSIONS
    };
    let progression = progressions[random.below(progressions.len())];
    let pattern = pattern_of(style.groove);
    let motifs = [Motif::generate(&mut random), Motif::generate(&mut random)];
    let root_hz = 110.0 * semitone_ratio(style.key_semitones);
    let lead = lead_voice(style.lead);
    let mut melody = vec![0.0; frames];
    // A song repeats its notes and drum hits: each is rendered once and then mixed in.
    let mut notes = Notes::default();
    let drums = Drums::render(&mut random);

    for bar in 0..bars {
        let start = bar * bar_frames;
        let degree = progression[bar % progression.len()];
        let outro = bar + 1 == bars && bars > INTRO_BARS + 1;
        // The pad: the chord's triad, spread across the stereo field.
        for (index, chord_step) in [0, 2, 4].into_iter().enumerate() {
            let frequency =
                root_hz * 2.0 * semitone_ratio(scale_semitones(scale, degree + chord_step));
            let pan = [0.25, 0.5, 0.75][index];
            let note = notes.get(&PAD, frequency, bar_frames);
            add_note(&mut out, start, note, 0.10, pan);
        }
        if bar < INTRO_BARS || outro {
            for step in (0..STEPS_PER_BAR).filter(|step| pattern.hat[*step] == b'x') {
                let hat = drums.hat(&mut random);
                add_note(&mut out, start + step * step_frames, hat, 0.06, 0.4);
            }
            continue;
        }
        let fill_bar = (bar - INTRO_BARS) % 8 == 7;
        for step in 0..STEPS_PER_BAR {
            let at = start + step * step_frames;
            if pattern.kick[step] == b'x' {
                add_note(&mut out, at, &drums.kick, 0.55, 0.5);
            }
            let fill = fill_bar && step >= 12;
            if pattern.snare[step] == b'x' || fill {
                let snare = drums.snare(&mut random);
                add_note(&mut out, at, snare, if fill { 0.18 } else { 0.28 }, 0.55);
            }
            if pattern.hat[step] == b'x' {
                let accent = if step.is_multiple_of(4) { 0.09 } else { 0.06 };
                add_note(&mut out, at, drums.hat(&mut random), accent, 0.4);
            }
            if pattern.bass[step] == b'x' {
                let octave = if step % 8 == 6 { 2.0 } else { 1.0 };
                let frequency =
                    root_hz * 0.5 * octave * semitone_ratio(scale_semitones(scale, degree));
                add_note(
                    &mut out,
                    at,
                    notes.get(&BASS, frequency, step_frames * 2),
                    0.30,
                    0.5,
                );
            }
        }
        // The melody: phrases of two bars, A A B A, each note snapped to the chord on strong steps.
        let phrase = ((bar - INTRO_BARS) / 2) % 4;
        let motif = &motifs[usize::from(phrase == 2)];
        let half = (bar - INTRO_BARS) % 2;
        for note in motif.notes.iter().filter(|note| note.slot / 8 == half) {
            let mut melody_degree = note.degree;
            if note.slot.is_multiple_of(4) {
                melody_degree = nearest_chord_tone(melody_degree, degree);
            }
            let frequency = root_hz * 4.0 * semitone_ratio(scale_semitones(scale, melody_degree));
            let at = start + (note.slot % 8) * 2 * step_frames;
            let rendered = notes.get(&lead, frequency, note.slots * 2 * step_frames);
            for (target, sample) in melody.iter_mut().skip(at).zip(rendered) {
                *target += sample * 0.22;
            }
        }
    }
    mix_melody_with_echo(&mut out, &melody, step_frames * 3);
    finish(&mut out);
    out
}

/// Scale degrees of the chords, one a bar.
const MAJOR_PROGRESSIONS: [[i32; 4]; 4] = [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 3], [5, 3, 0, 4]];
const MINOR_PROGRESSIONS: [[i32; 4]; 4] = [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 6], [0, 2, 3, 4]];
const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];

/// Semitones above the root of a scale degree, any octave (degree 7 is the octave).
fn scale_semitones(scale: &[i32; 7], degree: i32) -> i32 {
    let octave = degree.div_euclid(7);
    let index = usize::try_from(degree.rem_euclid(7)).unwrap_or(0);
    octave * 12 + scale[index]
}

fn semitone_ratio(semitones: i32) -> f32 {
    2f32.powf(f32::from(i16::try_from(semitones).unwrap_or(0)) / 12.0)
}

/// The chord tone (root, third or fifth of the chord on `chord_degree`) nearest `degree`.
fn nearest_chord_tone(degree: i32, chord_degree: i32) -> i32 {
    (-1..=1)
        .flat_map(|octave| [0, 2, 4].map(|step| chord_degree + step + octave * 7))
        .min_by_key(|tone| (tone - degree).abs())
        .unwrap_or(degree)
}

/// A two-bar melody of eighth-note slots: which slots start a note, how long it holds, and its
/// scale degree, found by a random walk that stays within about an octave and a half.
struct Motif {
    notes: Vec<MotifNote>,
}

struct MotifNote {
    /// 0..16, eighth notes across two bars.
    slot: usize,
    /// Length in slots.
    slots: usize,
    degree: i32,
}

impl Motif {
    fn generate(random: &mut SplitMix64) -> Motif {
        let mut onsets: Vec<usize> = (0..16)
            .filter(|&slot: &usize| {
                let chance = if slot.is_multiple_of(4) {
                    90
                } else if slot.is_multiple_of(2) {
                    55
                } else {
                    35
                };
                random.below(100) < chance
            })
            .collect();
        if onsets.is_empty() {
            onsets.push(0);
        }
        let mut degree = i32::try_from(random.below(5)).unwrap_or(0);
        let mut notes = Vec::with_capacity(onsets.len());
        for (index, slot) in onsets.iter().enumerate() {
            let next = onsets.get(index + 1).copied().unwrap_or(16);
            let step = [-2, -1, -1, 1, 1, 2, 0, 3][random.below(8)];
            degree = (degree + step).clamp(-2, 9);
            notes.push(MotifNote {
                slot: *slot,
                slots: (next - slot).clamp(1, 3),
                degree,
            });
        }
        Motif { notes }
    }
}

/// The 16-step patterns of a groove: `x` plays.
struct Pattern {
    kick: &'static [u8; 16],
    snare: &'static [u8; 16],
    hat: &'static [u8; 16],
    bass: &'static [u8; 16],
}

fn pattern_of(groove: Groove) -> Pattern {
    match groove {
        Groove::FourOnTheFloor => Pattern {
            kick: b"x...x...x...x...",
            snare: b"....x.......x...",
            hat: b"..x...x...x...x.",
            bass: b"x.x.x.x.x.x.x.x.",
        },
        Groove::Backbeat => Pattern {
            kick: b"x......xx.x.....",
            snare: b"....x.......x...",
            hat: b"x.x.x.x.x.x.x.x.",
            bass: b"x..x..x...x..x..",
        },
        Groove::Halftime => Pattern {
            kick: b"x.........x.....",
            snare: b"........x.......",
            hat: b"x.xxx.x.x.xxx.x.",
            bass: b"x.......x..x....",
        },
        Groove::Shuffle => Pattern {
            kick: b"x.....x...x.....",
            snare: b"....x.......x..x",
            hat: b"x..x..x.x..x..x.",
            bass: b"x.....x...x.....",
        },
        Groove::Sparse => Pattern {
            kick: b"x.......x.......",
            snare: b"................",
            hat: b"....x.......x...",
            bass: b"x.......x.......",
        },
    }
}

/// One cycle of a waveform with `harmonics` as (multiple, amplitude), normalised to peak 1.
fn wavetable(harmonics: &[(f32, f32)]) -> Vec<f32> {
    let mut table: Vec<f32> = (0..WAVETABLE_SAMPLES)
        .map(|index| {
            let phase = to_f32(index) / to_f32(WAVETABLE_SAMPLES) * std::f32::consts::TAU;
            harmonics
                .iter()
                .map(|(multiple, amplitude)| (phase * multiple).sin() * amplitude)
                .sum()
        })
        .collect();
    let peak = table
        .iter()
        .fold(0.0_f32, |peak, sample| peak.max(sample.abs()));
    if peak > 0.0 {
        table.iter_mut().for_each(|sample| *sample /= peak);
    }
    table
}

#[derive(Clone, Copy)]
enum Wave {
    Sine,
    Soft,
    Square,
    Saw,
    Organ,
}

fn table_of(wave: Wave) -> &'static [f32] {
    static TABLES: OnceLock<[Vec<f32>; 5]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        [
            wavetable(&[(1.0, 1.0)]),
            wavetable(&[(1.0, 1.0), (3.0, 1.0 / 9.0), (5.0, 1.0 / 25.0), (2.0, 0.15)]),
            wavetable(&[
                (1.0, 1.0),
                (3.0, 0.33),
                (5.0, 0.2),
                (7.0, 0.14),
                (9.0, 0.11),
            ]),
            wavetable(
                &(1..=10)
                    .map(|n| (to_f32(n), 1.0 / to_f32(n)))
                    .collect::<Vec<_>>(),
            ),
            wavetable(&[
                (1.0, 1.0),
                (2.0, 0.6),
                (3.0, 0.4),
                (4.0, 0.25),
                (6.0, 0.15),
                (8.0, 0.1),
            ]),
        ]
    });
    match wave {
        Wave::Sine => &tables[0],
        Wave::Soft => &tables[1],
        Wave::Square => &tables[2],
        Wave::Saw => &tables[3],
        Wave::Organ => &tables[4],
    }
}

/// An instrument: partials (wave, frequency ratio, amplitude) under one envelope.
struct Voice {
    /// Tells voices apart in [`Notes`].
    id: u8,
    partials: &'static [(Wave, f32, f32)],
    attack_seconds: f32,
    /// The time constant of the decay towards `sustain`.
    decay_seconds: f32,
    sustain: f32,
    release_seconds: f32,
}

const PAD: Voice = Voice {
    id: 0,
    partials: &[(Wave::Soft, 1.0, 0.6), (Wave::Soft, 1.004, 0.4)],
    attack_seconds: 0.4,
    decay_seconds: 1.5,
    sustain: 0.6,
    release_seconds: 0.3,
};

const BASS: Voice = Voice {
    id: 1,
    partials: &[(Wave::Soft, 1.0, 1.0), (Wave::Sine, 2.0, 0.25)],
    attack_seconds: 0.005,
    decay_seconds: 0.25,
    sustain: 0.5,
    release_seconds: 0.05,
};

fn lead_voice(timbre: Timbre) -> Voice {
    match timbre {
        Timbre::Pluck => Voice {
            id: 2,
            partials: &[(Wave::Sine, 1.0, 1.0), (Wave::Sine, 2.0, 0.3)],
            attack_seconds: 0.004,
            decay_seconds: 0.22,
            sustain: 0.0,
            release_seconds: 0.05,
        },
        Timbre::Square => Voice {
            id: 3,
            partials: &[(Wave::Square, 1.0, 0.8)],
            attack_seconds: 0.01,
            decay_seconds: 0.3,
            sustain: 0.4,
            release_seconds: 0.06,
        },
        Timbre::Saw => Voice {
            id: 4,
            partials: &[(Wave::Saw, 1.0, 0.55), (Wave::Saw, 1.006, 0.35)],
            attack_seconds: 0.01,
            decay_seconds: 0.4,
            sustain: 0.5,
            release_seconds: 0.08,
        },
        Timbre::Bell => Voice {
            id: 5,
            partials: &[
                (Wave::Sine, 1.0, 1.0),
                (Wave::Sine, 2.76, 0.4),
                (Wave::Sine, 5.4, 0.2),
            ],
            attack_seconds: 0.002,
            decay_seconds: 0.5,
            sustain: 0.0,
            release_seconds: 0.1,
        },
        Timbre::Organ => Voice {
            id: 6,
            partials: &[(Wave::Organ, 1.0, 0.8)],
            attack_seconds: 0.03,
            decay_seconds: 0.8,
            sustain: 0.7,
            release_seconds: 0.08,
        },
    }
}

/// Rendered notes by voice, frequency and length.
#[derive(Default)]
struct Notes {
    rendered: HashMap<(u8, u32, usize), Vec<f32>>,
}

impl Notes {
    /// One note of `voice` at `frequency_hz`, held `length` frames, then released.
    fn get(&mut self, voice: &Voice, frequency_hz: f32, length: usize) -> &[f32] {
        self.rendered
            .entry((voice.id, frequency_hz.to_bits(), length))
            .or_insert_with(|| {
                let mut note = vec![0.0; length + seconds_to_frames(voice.release_seconds)];
                render_voice(&mut note, frequency_hz, voice, length);
                note
            })
    }
}

/// Mixes `note` in from `start`, panned from 0.0 (left) to 1.0 (right).
fn add_note(out: &mut Stereo, start: usize, note: &[f32], gain: f32, pan: f32) {
    let (left_gain, right_gain) = pan_gains(pan);
    let (left, right) = (gain * left_gain, gain * right_gain);
    for ((target_left, target_right), sample) in out
        .left
        .iter_mut()
        .zip(out.right.iter_mut())
        .skip(start)
        .zip(note)
    {
        *target_left += sample * left;
        *target_right += sample * right;
    }
}

/// Fills `note` with the voice's partials under its envelope; the release starts at `held` frames.
fn render_voice(note: &mut [f32], frequency_hz: f32, voice: &Voice, held: usize) {
    let rate = to_f32(usize::try_from(SAMPLE_RATE_HZ).unwrap_or(1));
    let attack_frames = seconds_to_frames(voice.attack_seconds).max(1);
    let release_frames = note.len().saturating_sub(held).max(1);
    let decay_factor = (-1.0 / (voice.decay_seconds * rate)).exp();
    for (wave, ratio, amplitude) in voice.partials {
        let table = table_of(*wave);
        let increment = frequency_hz * ratio / rate;
        // Partials near or above the Nyquist frequency would alias: they are left out.
        if increment >= 0.45 {
            continue;
        }
        let mut phase = 0.0_f32;
        for sample in note.iter_mut() {
            *sample += lookup(table, phase) * amplitude;
            phase += increment;
            if phase >= 1.0 {
                phase -= 1.0;
            }
        }
    }
    let mut decay = 1.0_f32;
    for (index, sample) in note.iter_mut().enumerate() {
        let attack = if index < attack_frames {
            to_f32(index) / to_f32(attack_frames)
        } else {
            1.0
        };
        let release = if index >= held {
            1.0 - to_f32(index - held) / to_f32(release_frames)
        } else {
            1.0
        };
        let level = voice.sustain + (1.0 - voice.sustain) * decay;
        decay *= decay_factor;
        *sample *= attack * level * release;
    }
}

fn lookup(table: &[f32], phase: f32) -> f32 {
    let position = phase * to_f32(table.len());
    let index = float_index(position) % table.len();
    let next = (index + 1) % table.len();
    let fraction = position - position.floor();
    table[index] + (table[next] - table[index]) * fraction
}

/// Variants of each noisy hit, so repeated hits do not sound like one sample looped.
const DRUM_VARIANTS: usize = 4;

/// The drum kit's hits, rendered once a song.
struct Drums {
    kick: Vec<f32>,
    snares: Vec<Vec<f32>>,
    hats: Vec<Vec<f32>>,
}

impl Drums {
    fn render(random: &mut SplitMix64) -> Drums {
        Drums {
            kick: kick(),
            snares: (0..DRUM_VARIANTS).map(|_| snare(random)).collect(),
            hats: (0..DRUM_VARIANTS).map(|_| hat(random)).collect(),
        }
    }

    fn snare(&self, random: &mut SplitMix64) -> &[f32] {
        &self.snares[random.below(self.snares.len())]
    }

    fn hat(&self, random: &mut SplitMix64) -> &[f32] {
        &self.hats[random.below(self.hats.len())]
    }
}

/// A sine whose pitch falls from 138 to 48 Hz as it decays.
fn kick() -> Vec<f32> {
    let rate = to_f32(usize::try_from(SAMPLE_RATE_HZ).unwrap_or(1));
    let sine = table_of(Wave::Sine);
    let (mut phase, mut pitch_decay, mut amplitude) = (0.0_f32, 1.0_f32, 1.0_f32);
    let (pitch_factor, amplitude_factor) =
        ((-1.0 / (0.03 * rate)).exp(), (-1.0 / (0.12 * rate)).exp());
    (0..seconds_to_frames(0.35))
        .map(|_| {
            let sample = lookup(sine, phase) * amplitude;
            phase = (phase + (48.0 + 90.0 * pitch_decay) / rate).fract();
            pitch_decay *= pitch_factor;
            amplitude *= amplitude_factor;
            sample
        })
        .collect()
}

/// A burst of noise over a short 190 Hz tone.
fn snare(random: &mut SplitMix64) -> Vec<f32> {
    let rate = to_f32(usize::try_from(SAMPLE_RATE_HZ).unwrap_or(1));
    let sine = table_of(Wave::Sine);
    let mut noise = random.noise();
    let (noise_factor, tone_factor) = ((-1.0 / (0.05 * rate)).exp(), (-1.0 / (0.03 * rate)).exp());
    let (mut noise_level, mut tone_level, mut phase) = (1.0_f32, 1.0_f32, 0.0_f32);
    (0..seconds_to_frames(0.25))
        .map(|_| {
            let sample = noise.next() * noise_level * 0.7 + lookup(sine, phase) * tone_level * 0.5;
            phase = (phase + 190.0 / rate).fract();
            noise_level *= noise_factor;
            tone_level *= tone_factor;
            sample
        })
        .collect()
}

/// A very short tick of high-passed noise.
fn hat(random: &mut SplitMix64) -> Vec<f32> {
    let rate = to_f32(usize::try_from(SAMPLE_RATE_HZ).unwrap_or(1));
    let mut noise = random.noise();
    let factor = (-1.0 / (0.012 * rate)).exp();
    let (mut level, mut previous) = (1.0_f32, 0.0_f32);
    (0..seconds_to_frames(0.06))
        .map(|_| {
            // The difference of successive noise samples: a crude high-pass, enough for a hi-hat.
            let white = noise.next();
            let sample = (white - previous) * 0.5 * level;
            previous = white;
            level *= factor;
            sample
        })
        .collect()
}

/// Adds the melody, slightly right of centre, with two echoes `delay` frames apart that
/// alternate sides.
fn mix_melody_with_echo(out: &mut Stereo, melody: &[f32], delay: usize) {
    let (left_gain, right_gain) = pan_gains(0.6);
    for (index, sample) in melody.iter().enumerate() {
        out.left[index] += sample * left_gain;
        out.right[index] += sample * right_gain;
        if let Some(echo) = index.checked_sub(delay).and_then(|at| melody.get(at)) {
            out.left[index] += echo * 0.3;
        }
        if let Some(echo) = index.checked_sub(delay * 2).and_then(|at| melody.get(at)) {
            out.right[index] += echo * 0.15;
        }
    }
}

/// Normalises the peak and fades both ends.
fn finish(out: &mut Stereo) {
    let peak = out
        .left
        .iter()
        .chain(&out.right)
        .fold(0.0_f32, |peak, sample| peak.max(sample.abs()));
    let scale = if peak > 0.0 { PEAK_TARGET / peak } else { 1.0 };
    let frames = out.left.len();
    let fade_in = seconds_to_frames(FADE_IN_SECONDS).max(1);
    let fade_out = seconds_to_frames(FADE_OUT_SECONDS).clamp(1, frames.max(1));
    for channel in [&mut out.left, &mut out.right] {
        for (index, sample) in channel.iter_mut().enumerate() {
            let from_end = frames - index;
            let fade = (to_f32(index) / to_f32(fade_in))
                .min(to_f32(from_end) / to_f32(fade_out))
                .min(1.0);
            *sample = (*sample * scale * fade).clamp(-1.0, 1.0);
        }
    }
}

fn pan_gains(pan: f32) -> (f32, f32) {
    let angle = pan.clamp(0.0, 1.0) * std::f32::consts::FRAC_PI_2;
    (angle.cos(), angle.sin())
}

fn seconds_to_frames(seconds: f32) -> usize {
    float_index(seconds * to_f32(usize::try_from(SAMPLE_RATE_HZ).unwrap_or(0)))
}

#[allow(
    clippy::as_conversions,
    reason = "sample and frame counts are far below f32's exact range of 2^24 that matters here"
)]
fn to_f32(count: usize) -> f32 {
    count as f32
}

#[allow(
    clippy::as_conversions,
    reason = "a saturating cast of a non-negative position to an index"
)]
fn float_index(position: f32) -> usize {
    position.max(0.0) as usize
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same song on every
/// platform, which a library generator does not promise across versions.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// A number in 0..bound (0 when bound is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        let bound = u64::try_from(bound).unwrap_or(u64::MAX).max(1);
        usize::try_from(self.next_u64() % bound).unwrap_or(0)
    }

    /// A number in 0.0..1.0.
    pub fn unit(&mut self) -> f32 {
        f32::from(u16::try_from(self.next_u64() >> 48).unwrap_or(0)) / 65_536.0
    }

    fn noise(&mut self) -> Noise {
        Noise(u32::try_from(self.next_u64() >> 32).unwrap_or(1).max(1))
    }
}

/// White noise from xorshift32: cheaper per sample than SplitMix64.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        f32::from(u16::try_from(self.0 >> 16).unwrap_or(0)) / 32_768.0 - 1.0
    }
}

/// What a generated file says about itself.
pub struct TrackTags<'a> {
    pub title: &'a str,
    pub artist: &'a str,
    pub album: &'a str,
    pub track_number: u32,
    /// A JPEG to embed as the front cover.
    pub cover_jpeg: Option<&'a [u8]>,
}

/// A 16-bit stereo WAV of `song` with RIFF INFO tags and an ID3v2.4 chunk carrying the same
/// tags, the track number and the cover (where music software puts both).
pub fn stereo_wav(song: &Stereo, tags: &TrackTags<'_>) -> Vec<u8> {
    let mut data = Vec::with_capacity(song.left.len() * 4);
    for (left, right) in song.left.iter().zip(&song.right) {
        data.extend_from_slice(&pcm16(*left).to_le_bytes());
        data.extend_from_slice(&pcm16(*right).to_le_bytes());
    }
    wav_file(
        &data,
        tags.title,
        tags.artist,
        tags.album,
        Some(&id3_tag(tags)),
    )
}

/// A 16-bit stereo WAV holding `samples` (mono, -1.0..=1.0) on both channels, tagged with
/// `INAM` (title), `IART` (artist) and `IPRD` (album).
pub fn tagged_wav_from_samples(samples: &[f32], title: &str, artist: &str, album: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(samples.len() * 4);
    for sample in samples {
        let sample = pcm16(*sample);
        for _ in 0..CHANNELS {
            data.extend_from_slice(&sample.to_le_bytes());
        }
    }
    wav_file(&data, title, artist, album, None)
}

fn pcm16(sample: f32) -> i16 {
    let scaled = (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round();
    #[allow(
        clippy::as_conversions,
        reason = "clamped and rounded to the i16 range just above"
    )]
    let sample = scaled as i16;
    sample
}

fn wav_file(data: &[u8], title: &str, artist: &str, album: &str, id3: Option<&[u8]>) -> Vec<u8> {
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
    let mut chunks: Vec<(&[u8; 4], &[u8])> =
        vec![(b"fmt ", &format), (b"LIST", &info), (b"data", data)];
    // The ID3 chunk goes last, where taggers write it.
    if let Some(id3) = id3 {
        chunks.push((b"id3 ", id3));
    }
    for (id, chunk) in chunks {
        body.extend_from_slice(id);
        body.extend_from_slice(&chunk_length(chunk));
        body.extend_from_slice(chunk);
        // RIFF chunks are word-aligned.
        if chunk.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&chunk_length(&body));
    file.extend_from_slice(&body);
    file
}

fn chunk_length(chunk: &[u8]) -> [u8; 4] {
    u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_le_bytes()
}

/// An ID3v2.4 tag: title, artist, album, track number (UTF-8 text frames) and the cover (APIC).
fn id3_tag(tags: &TrackTags<'_>) -> Vec<u8> {
    let mut frames = Vec::new();
    let track_number = tags.track_number.to_string();
    for (id, text) in [
        (b"TIT2", tags.title),
        (b"TPE1", tags.artist),
        (b"TALB", tags.album),
        (b"TRCK", track_number.as_str()),
    ] {
        let mut body = vec![3]; // UTF-8
        body.extend_from_slice(text.as_bytes());
        id3_frame(&mut frames, id, &body);
    }
    if let Some(cover) = tags.cover_jpeg {
        // Latin-1 description encoding, the MIME type, picture type 3 (front cover), an empty
        // description, then the image.
        let mut body = vec![0];
        body.extend_from_slice(b"image/jpeg\0");
        body.push(3);
        body.push(0);
        body.extend_from_slice(cover);
        id3_frame(&mut frames, b"APIC", &body);
    }
    let mut tag = b"ID3".to_vec();
    tag.extend_from_slice(&[4, 0, 0]);
    tag.extend_from_slice(&syncsafe(frames.len()));
    tag.extend_from_slice(&frames);
    tag
}

fn id3_frame(frames: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    frames.extend_from_slice(id);
    frames.extend_from_slice(&syncsafe(body.len()));
    frames.extend_from_slice(&[0, 0]);
    frames.extend_from_slice(body);
}

/// ID3v2's 28-bit sizes, seven bits a byte.
fn syncsafe(length: usize) -> [u8; 4] {
    let length = u32::try_from(length).unwrap_or(u32::MAX).min(0x0fff_ffff);
    [21, 14, 7, 0].map(|shift| u8::try_from((length >> shift) & 0x7f).unwrap_or(0))
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

#[cfg(test)]
mod tests {
    use super::*;

    const STYLE: Style = Style {
        key_semitones: 3,
        minor: true,
        tempo_bpm: 110,
        lead: Timbre::Saw,
        groove: Groove::Backbeat,
    };

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
    fn songs_are_deterministic_audible_and_in_range() {
        let first = song(&STYLE, 7, 3);
        let again = song(&STYLE, 7, 3);
        assert_eq!(first.left, again.left);
        assert_eq!(
            first.left.len(),
            usize::try_from(3 * SAMPLE_RATE_HZ).unwrap()
        );
        assert_eq!(first.left.len(), first.right.len());
        assert!(
            first
                .left
                .iter()
                .chain(&first.right)
                .all(|sample| sample.abs() <= 1.0)
        );
        let peak = first
            .left
            .iter()
            .fold(0.0_f32, |peak, sample| peak.max(sample.abs()));
        assert!(peak > 0.5, "normalised to near full scale, was {peak}");
        assert_ne!(first.left, first.right, "stereo, not two copies");
    }

    #[test]
    fn seeds_and_styles_change_the_music() {
        let base = song(&STYLE, 7, 8);
        assert_ne!(base.left, song(&STYLE, 8, 8).left, "another seed");
        let other = Style {
            lead: Timbre::Bell,
            ..STYLE
        };
        assert_ne!(base.left, song(&other, 7, 8).left, "another timbre");
    }

    #[test]
    fn chord_tones_are_the_nearest_of_root_third_and_fifth() {
        assert_eq!(nearest_chord_tone(1, 0), 0);
        assert_eq!(nearest_chord_tone(3, 0), 2);
        assert_eq!(nearest_chord_tone(6, 0), 7, "the root an octave up");
        assert_eq!(scale_semitones(&MINOR, 9), 15, "a minor third an octave up");
        assert_eq!(scale_semitones(&MAJOR, -1), -1, "the leading tone below");
    }

    #[test]
    fn id3_sizes_are_syncsafe() {
        assert_eq!(syncsafe(0x7f), [0, 0, 0, 0x7f]);
        assert_eq!(syncsafe(0x80), [0, 0, 1, 0]);
        let tags = TrackTags {
            title: "T",
            artist: "A",
            album: "B",
            track_number: 2,
            cover_jpeg: Some(&[0xff, 0xd8, 0xff]),
        };
        let tag = id3_tag(&tags);
        assert_eq!(&tag[..3], b"ID3");
        let declared: usize = tag[6..10]
            .iter()
            .fold(0, |size, byte| (size << 7) | usize::from(*byte));
        assert_eq!(declared, tag.len() - 10);
    }
}
