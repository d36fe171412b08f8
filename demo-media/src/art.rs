//! Generated cover art: deterministic, distinct abstract covers (sunsets, rings, Bauhaus grids,
//! waves, stripes, orbs) in a palette drawn from a seed, encoded as the JPEG a label would embed
//! in its files, so the demo's artwork goes through the same extraction and renditions as real
//! covers.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

use crate::audio::SplitMix64;

/// The side of a generated cover: a little more than the largest size the storefront serves
/// (1200 px), as a label's master would be, so ingest keeps a 1200 px rendition and every
/// served size is scaled down from it.
pub const COVER_SIDE_PIXELS: u32 = 1400;
const JPEG_QUALITY: u8 = 88;
/// How far film grain moves each channel, in 8-bit steps either way.
const GRAIN_STEPS: i32 = 6;

/// The kinds of picture; a cover's index picks one, so neighbours in a catalog differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    Sunset,
    Rings,
    Grid,
    Waves,
    Stripes,
    Orbs,
}

impl Design {
    pub const ALL: [Design; 6] = [
        Design::Sunset,
        Design::Rings,
        Design::Grid,
        Design::Waves,
        Design::Stripes,
        Design::Orbs,
    ];
}

/// A cover of `design` in colours drawn from `seed`, as a JPEG of [`COVER_SIDE_PIXELS`] square.
pub fn cover_jpeg(design: Design, seed: u64) -> Result<Vec<u8>, image::ImageError> {
    jpeg(&cover_image(design, seed, COVER_SIDE_PIXELS))
}

fn jpeg(image: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), JPEG_QUALITY).encode_image(image)?;
    Ok(bytes)
}

/// The cover at any size: the picture scales, its grain does not.
fn cover_image(design: Design, seed: u64, side_pixels: u32) -> RgbImage {
    let mut random = SplitMix64(seed ^ 0x636f_7665_7261_7274);
    let palette = Palette::generate(&mut random);
    let parameters: [f32; 8] = std::array::from_fn(|_| random.unit());
    let grid = Grid::generate(&mut random);
    let side = to_f32(side_pixels);
    RgbImage::from_fn(side_pixels, side_pixels, |x, y| {
        let (u, v) = (to_f32(x) / side, to_f32(y) / side);
        let colour = match design {
            Design::Sunset => sunset(&palette, &parameters, u, v),
            Design::Rings => rings(&palette, &parameters, u, v),
            Design::Grid => grid.colour(&palette, u, v),
            Design::Waves => waves(&palette, &parameters, u, v),
            Design::Stripes => stripes(&palette, &parameters, u, v),
            Design::Orbs => orbs(&palette, &parameters, u, v),
        };
        grain(colour, x, y, seed)
    })
}

/// An advertising banner of `width` × `height` pixels for a campaign: a winter gradient with
/// falling snow, a row (or column) of the `covers` it promotes, and its `title` in block letters.
pub fn banner_jpeg(
    width: u32,
    height: u32,
    title: &str,
    covers: &[(Design, u64)],
) -> Result<Vec<u8>, image::ImageError> {
    let (top, bottom) = ([0.06, 0.1, 0.3], [0.1, 0.45, 0.55]);
    let mut banner = RgbImage::from_fn(width, height, |x, y| {
        let colour = mix(top, bottom, to_f32(y) / to_f32(height.max(1)));
        // Sparse snow: a pixel hash lights one pixel in about 150.
        let flake = (u64::from(x).wrapping_mul(0x9e37_79b9)
            ^ u64::from(y).wrapping_mul(0x85eb_ca6b))
        .wrapping_mul(0x2c1b_3c6d)
            >> 40;
        if flake.is_multiple_of(150) {
            grain([0.95, 0.97, 1.0], x, y, 0)
        } else {
            grain(colour, x, y, 1)
        }
    });
    let margin = (width.min(height) / 10).max(2);
    let wide = width >= height;
    // The covers take the short side, the text what is left of the long one.
    let thumb = if wide {
        height - 2 * margin
    } else {
        width - 2 * margin
    };
    let space = if wide { width } else { height };
    let fitting = (space / 2 / (thumb + margin)).max(1);
    let count = covers.len().min(usize::try_from(fitting).unwrap_or(1));
    let mut offset = margin;
    for (design, seed) in covers.iter().take(count) {
        let cover = cover_image(*design, *seed, thumb);
        let (x, y) = if wide {
            (offset, margin)
        } else {
            (margin, offset)
        };
        image::imageops::overlay(&mut banner, &cover, i64::from(x), i64::from(y));
        offset += thumb + margin;
    }
    let (text_x, text_y, text_width, text_height) = if wide {
        (
            offset,
            margin,
            width.saturating_sub(offset + margin),
            height - 2 * margin,
        )
    } else {
        (
            margin,
            offset,
            width - 2 * margin,
            height.saturating_sub(offset + margin),
        )
    };
    draw_text(
        &mut banner,
        title,
        (text_x, text_y, text_width, text_height),
    );
    jpeg(&banner)
}

/// Glyphs of a 5 × 7 block font, for the letters the banners use.
const FONT: [(char, [&str; 7]); 17] = [
    (
        'A',
        [
            ".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'B',
        [
            "####.", "#...#", "#...#", "####.", "#...#", "#...#", "####.",
        ],
    ),
    (
        'C',
        [
            ".####", "#....", "#....", "#....", "#....", "#....", ".####",
        ],
    ),
    (
        'E',
        [
            "#####", "#....", "#....", "####.", "#....", "#....", "#####",
        ],
    ),
    (
        'F',
        [
            "#####", "#....", "#....", "####.", "#....", "#....", "#....",
        ],
    ),
    (
        'G',
        [
            ".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###.",
        ],
    ),
    (
        'I',
        [
            "#####", "..#..", "..#..", "..#..", "..#..", "..#..", "#####",
        ],
    ),
    (
        'L',
        [
            "#....", "#....", "#....", "#....", "#....", "#....", "#####",
        ],
    ),
    (
        'M',
        [
            "#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'N',
        [
            "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'O',
        [
            ".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.",
        ],
    ),
    (
        'P',
        [
            "####.", "#...#", "#...#", "####.", "#....", "#....", "#....",
        ],
    ),
    (
        'R',
        [
            "####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#",
        ],
    ),
    (
        'S',
        [
            ".####", "#....", "#....", ".###.", "....#", "....#", "####.",
        ],
    ),
    (
        'T',
        [
            "#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#..",
        ],
    ),
    (
        'W',
        [
            "#...#", "#...#", "#...#", "#.#.#", "#.#.#", "##.##", "#...#",
        ],
    ),
    (
        'X',
        [
            "#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#",
        ],
    ),
];
const GLYPH_COLUMNS: u32 = 5;
const GLYPH_ROWS: u32 = 7;

/// Writes `text` (upper case; words on lines of their own when that fits better) as large as
/// fits the box, centred in it; letters the font lacks are left blank.
fn draw_text(image: &mut RgbImage, text: &str, area: (u32, u32, u32, u32)) {
    let (x, y, width, height) = area;
    let words: Vec<&str> = text.split_whitespace().collect();
    let one_line = [text.to_uppercase()];
    let stacked: Vec<String> = words.iter().map(|word| word.to_uppercase()).collect();
    let scale_of = |lines: &[String]| {
        let longest = lines
            .iter()
            .map(|line| line.chars().count())
            .max()
            .unwrap_or(1);
        let columns = u32::try_from(longest)
            .unwrap_or(u32::MAX)
            .saturating_mul(GLYPH_COLUMNS + 1);
        let rows = u32::try_from(lines.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(GLYPH_ROWS + 2);
        (width / columns.max(1)).min(height / rows.max(1))
    };
    let lines: &[String] = if scale_of(&stacked) > scale_of(&one_line) {
        &stacked
    } else {
        &one_line
    };
    let scale = scale_of(lines);
    if scale == 0 {
        return;
    }
    let line_height = (GLYPH_ROWS + 2) * scale;
    let block_height = line_height * u32::try_from(lines.len()).unwrap_or(1);
    let mut top = y + (height.saturating_sub(block_height)) / 2 + scale;
    for line in lines {
        let line_width =
            u32::try_from(line.chars().count()).unwrap_or(0) * (GLYPH_COLUMNS + 1) * scale;
        let mut left = x + width.saturating_sub(line_width) / 2;
        for letter in line.chars() {
            if let Some((_, rows)) = FONT.iter().find(|(glyph, _)| *glyph == letter) {
                for (row, pattern) in (0..).zip(rows) {
                    for (column, cell) in (0..).zip(pattern.bytes()) {
                        if cell == b'#' {
                            fill(image, left + column * scale, top + row * scale, scale);
                        }
                    }
                }
            }
            left += (GLYPH_COLUMNS + 1) * scale;
        }
        top += line_height;
    }
}

fn fill(image: &mut RgbImage, x: u32, y: u32, side: u32) {
    for pixel_y in y..(y + side).min(image.height()) {
        for pixel_x in x..(x + side).min(image.width()) {
            image.put_pixel(pixel_x, pixel_y, Rgb([250, 250, 255]));
        }
    }
}

/// Five colours: a dark and a light one and three accents around a base hue.
struct Palette {
    colours: [[f32; 3]; 5],
}

impl Palette {
    fn generate(random: &mut SplitMix64) -> Palette {
        let hue = random.unit();
        // Analogous, complementary or triadic accents.
        let spread = [0.08, 0.5, 0.333][random.below(3)];
        Palette {
            colours: [
                hsv(hue + 0.55, 0.55, 0.16),
                hsv(hue + 0.05, 0.12, 0.95),
                hsv(hue, 0.75, 0.92),
                hsv(hue + spread, 0.7, 0.85),
                hsv(hue - spread, 0.6, 0.6),
            ],
        }
    }

    fn dark(&self) -> [f32; 3] {
        self.colours[0]
    }

    fn light(&self) -> [f32; 3] {
        self.colours[1]
    }

    /// One of the three accents.
    fn accent(&self, index: usize) -> [f32; 3] {
        self.colours[2 + index % 3]
    }

    /// Any of the five, in turn.
    fn cycle(&self, index: usize) -> [f32; 3] {
        self.colours[index % self.colours.len()]
    }
}

fn sunset(palette: &Palette, parameters: &[f32; 8], u: f32, v: f32) -> [f32; 3] {
    let horizon = 0.62 + parameters[0] * 0.1;
    let ridge = horizon + 0.04 * (u * 7.0 + parameters[1] * 6.0).sin() + 0.02 * (u * 19.0).sin();
    if v > ridge {
        return mix(
            palette.accent(2),
            palette.dark(),
            ((v - ridge) * 3.0).min(1.0),
        );
    }
    let (sun_x, sun_y, radius) = (0.3 + parameters[2] * 0.4, horizon - 0.12, 0.22);
    let distance = ((u - sun_x).powi(2) + (v - sun_y).powi(2)).sqrt();
    // The sun's lower half is cut by bands that thicken towards the horizon.
    let band = ((v - sun_y) * 40.0).fract() < (v - sun_y) * 5.0;
    if distance < radius && !(v > sun_y && band) {
        return mix(
            palette.accent(0),
            palette.light(),
            (sun_y - v).max(0.0) * 3.0,
        );
    }
    mix(palette.accent(1), palette.accent(0), v / horizon)
}

fn rings(palette: &Palette, parameters: &[f32; 8], u: f32, v: f32) -> [f32; 3] {
    let (centre_x, centre_y) = (0.2 + parameters[0] * 0.6, 0.2 + parameters[1] * 0.6);
    let distance = ((u - centre_x).powi(2) + (v - centre_y).powi(2)).sqrt();
    let width = 0.035 + parameters[2] * 0.05;
    let ring = float_index(distance / width);
    // One diagonal half shows the rings in the other order.
    let flipped = v > u * (0.5 + parameters[3]) + 0.2 * parameters[4];
    palette.cycle(if flipped { ring + 2 } else { ring })
}

/// A 4 × 4 Bauhaus grid: each cell a background with a quarter circle, a circle, a half
/// circle or a triangle.
struct Grid {
    cells: [(usize, usize, usize); 16],
}

const GRID_CELLS_PER_SIDE: f32 = 4.0;

impl Grid {
    fn generate(random: &mut SplitMix64) -> Grid {
        Grid {
            cells: std::array::from_fn(|_| (random.below(5), random.below(5), random.below(8))),
        }
    }

    fn colour(&self, palette: &Palette, u: f32, v: f32) -> [f32; 3] {
        let (column, row) = (
            float_index(u * GRID_CELLS_PER_SIDE).min(3),
            float_index(v * GRID_CELLS_PER_SIDE).min(3),
        );
        let (x, y) = (
            (u * GRID_CELLS_PER_SIDE).fract(),
            (v * GRID_CELLS_PER_SIDE).fract(),
        );
        let (background, foreground, shape) = self.cells[row * 4 + column];
        let foreground = if foreground == background {
            foreground + 1
        } else {
            foreground
        };
        let inside = match shape {
            0 => x * x + y * y < 1.0,
            1 => (1.0 - x).powi(2) + (1.0 - y).powi(2) < 1.0,
            2 => (x - 0.5).powi(2) + (y - 0.5).powi(2) < 0.16,
            3 => y > 0.5 && (x - 0.5).powi(2) + (y - 1.0).powi(2) < 0.25,
            4 => x > y,
            5 => x + y < 1.0,
            6 => (x - 0.5).abs() < 0.15,
            _ => false,
        };
        palette.cycle(if inside { foreground } else { background })
    }
}

fn waves(palette: &Palette, parameters: &[f32; 8], u: f32, v: f32) -> [f32; 3] {
    let bands = 5 + float_index(parameters[0] * 5.0);
    let frequency = 4.0 + parameters[1] * 8.0;
    let amplitude = 0.02 + parameters[2] * 0.05;
    let shifted = v + amplitude * (u * frequency + v * 3.0 + parameters[3] * 6.0).sin();
    let band = float_index(shifted.max(0.0) * to_f32_usize(bands));
    let colour = palette.cycle(band);
    mix(colour, palette.dark(), (u - 0.5).abs() * 0.4)
}

fn stripes(palette: &Palette, parameters: &[f32; 8], u: f32, v: f32) -> [f32; 3] {
    let angle = parameters[0] * std::f32::consts::PI;
    let (sine, cosine) = angle.sin_cos();
    let inside = (u - 0.5).powi(2) + (v - 0.5).powi(2) < 0.09 + parameters[1] * 0.04;
    // Inside the circle the stripes turn a quarter and change colours.
    let along = if inside {
        u * sine - v * cosine
    } else {
        u * cosine + v * sine
    };
    let stripe = float_index((along + 2.0) * (8.0 + parameters[2] * 10.0));
    if inside {
        palette.accent(stripe)
    } else if stripe.is_multiple_of(2) {
        palette.dark()
    } else {
        palette.light()
    }
}

fn orbs(palette: &Palette, parameters: &[f32; 8], u: f32, v: f32) -> [f32; 3] {
    let field: f32 = (0..4)
        .map(|orb| {
            let (x, y) = (parameters[orb * 2], parameters[orb * 2 + 1]);
            let radius = 0.08 + 0.04 * to_f32_usize(orb);
            radius * radius / ((u - x).powi(2) + (v - y).powi(2) + 1e-4)
        })
        .sum();
    if field < 0.6 {
        mix(palette.dark(), palette.accent(2), field)
    } else {
        palette.cycle(float_index(field * 2.0))
    }
}

fn mix(from: [f32; 3], to: [f32; 3], amount: f32) -> [f32; 3] {
    let amount = amount.clamp(0.0, 1.0);
    std::array::from_fn(|channel| from[channel] + (to[channel] - from[channel]) * amount)
}

/// HSV (each 0..1, hue wrapping) to linear RGB 0..1.
fn hsv(hue: f32, saturation: f32, value: f32) -> [f32; 3] {
    let hue = hue.rem_euclid(1.0) * 6.0;
    let sector = float_index(hue) % 6;
    let fraction = hue.fract();
    let (p, q, t) = (
        value * (1.0 - saturation),
        value * (1.0 - saturation * fraction),
        value * (1.0 - saturation * (1.0 - fraction)),
    );
    match sector {
        0 => [value, t, p],
        1 => [q, value, p],
        2 => [p, value, t],
        3 => [p, q, value],
        4 => [t, p, value],
        _ => [value, p, q],
    }
}

/// The colour in 8 bits with a little deterministic grain, so flat areas look printed.
fn grain(colour: [f32; 3], x: u32, y: u32, seed: u64) -> Rgb<u8> {
    let mut hash = u64::from(x)
        .wrapping_mul(0x9e37_79b9)
        .wrapping_add(u64::from(y).wrapping_mul(0x85eb_ca6b))
        ^ seed;
    hash ^= hash >> 15;
    hash = hash.wrapping_mul(0x2c1b_3c6d);
    hash ^= hash >> 12;
    let offset = i32::try_from(hash % u64::from(u32::try_from(GRAIN_STEPS * 2 + 1).unwrap_or(1)))
        .unwrap_or(0)
        - GRAIN_STEPS;
    Rgb(colour.map(|channel| {
        let level = float_index(channel.clamp(0.0, 1.0) * 255.0);
        let level = i32::try_from(level).unwrap_or(0) + offset;
        u8::try_from(level.clamp(0, 255)).unwrap_or(0)
    }))
}

#[allow(
    clippy::as_conversions,
    reason = "pixel coordinates are far below f32's exact integer range"
)]
fn to_f32(pixels: u32) -> f32 {
    pixels as f32
}

#[allow(clippy::as_conversions, reason = "small counts, exact in f32")]
fn to_f32_usize(count: usize) -> f32 {
    count as f32
}

#[allow(
    clippy::as_conversions,
    reason = "a saturating cast of a non-negative value to an index"
)]
fn float_index(value: f32) -> usize {
    value.max(0.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_are_deterministic_distinct_square_jpegs() {
        let first = cover_jpeg(Design::Rings, 1).unwrap();
        assert_eq!(first, cover_jpeg(Design::Rings, 1).unwrap());
        assert_ne!(
            first,
            cover_jpeg(Design::Rings, 2).unwrap(),
            "another palette"
        );
        let decoded = image::load_from_memory(&first).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (COVER_SIDE_PIXELS, COVER_SIDE_PIXELS)
        );
        let designs: Vec<Vec<u8>> = Design::ALL
            .iter()
            .map(|design| cover_jpeg(*design, 1).unwrap())
            .collect();
        for (index, cover) in designs.iter().enumerate() {
            assert!(
                designs[index + 1..].iter().all(|other| other != cover),
                "every design differs"
            );
        }
    }

    #[test]
    fn banners_have_their_size_and_fit_the_creative_limit() {
        let covers = [(Design::Sunset, 1), (Design::Orbs, 2), (Design::Grid, 3)];
        for (width, height) in [
            (300, 250),
            (728, 90),
            (160, 600),
            (320, 50),
            (300, 600),
            (970, 250),
        ] {
            let banner = banner_jpeg(width, height, "Winter sampler", &covers).unwrap();
            assert!(
                banner.len() <= 150 * 1024,
                "{width}x{height}: {} bytes",
                banner.len()
            );
            let decoded = image::load_from_memory(&banner).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (width, height));
        }
    }

    #[test]
    fn text_is_drawn_inside_its_box() {
        let mut image = RgbImage::new(100, 40);
        draw_text(&mut image, "Winter sampler", (10, 5, 80, 30));
        let lit: Vec<(u32, u32)> = image
            .enumerate_pixels()
            .filter(|(_, _, pixel)| pixel.0 == [250, 250, 255])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(!lit.is_empty(), "something is written");
        assert!(
            lit.iter()
                .all(|(x, y)| (10..90).contains(x) && (5..35).contains(y))
        );
    }

    #[test]
    fn hsv_corners() {
        assert_eq!(hsv(0.0, 1.0, 1.0), [1.0, 0.0, 0.0]);
        assert_eq!(hsv(1.0 / 3.0, 1.0, 1.0).map(f32::round), [0.0, 1.0, 0.0]);
        assert_eq!(hsv(0.5, 0.0, 0.5), [0.5, 0.5, 0.5]);
    }
}
