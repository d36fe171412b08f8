//! Embedded artwork: checks that the bytes really are a JPEG or PNG image of bounded size by
//! decoding them, then renders the JPEG sizes the storefront shows.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use super::{Artwork, ArtworkImage};

/// The largest embedded image accepted, in bytes.
pub const ARTWORK_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The widest or tallest embedded image accepted, in pixels.
pub const ARTWORK_SIDE_PIXELS_MAX: u32 = 8192;
/// The longest side of each JPEG rendition, largest first; only sizes smaller than the original are made.
pub const ARTWORK_SIZES_PIXELS: [u32; 3] = [1200, 600, 300];

/// The most memory the image decoder may allocate: one 8192 × 8192 RGBA image.
const ARTWORK_DECODE_BYTES_MAX: u64 = 8192 * 8192 * 4;
/// JPEG quality of the renditions: visually lossless at these sizes.
const JPEG_QUALITY: u8 = 85;

/// Validates `bytes` as an image and renders the smaller sizes; the error says why it was not accepted.
pub(super) fn process(bytes: &[u8]) -> Result<Artwork, String> {
    if bytes.len() > ARTWORK_BYTES_MAX {
        return Err(format!(
            "{} bytes exceeds the limit of {ARTWORK_BYTES_MAX}",
            bytes.len()
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| error.to_string())?;
    let mime_type = match reader.format() {
        Some(ImageFormat::Jpeg) => "image/jpeg",
        Some(ImageFormat::Png) => "image/png",
        Some(other) => {
            return Err(format!(
                "{other:?} images are not supported, only JPEG and PNG"
            ));
        }
        None => return Err("not a JPEG or PNG image".to_owned()),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(ARTWORK_SIDE_PIXELS_MAX);
    limits.max_image_height = Some(ARTWORK_SIDE_PIXELS_MAX);
    limits.max_alloc = Some(ARTWORK_DECODE_BYTES_MAX);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|error| format!("invalid image: {error}"))?;
    let original = ArtworkImage {
        mime_type: mime_type.to_owned(),
        width_pixels: image.width(),
        height_pixels: image.height(),
        bytes: bytes.to_vec(),
    };
    let longest_side_pixels = image.width().max(image.height());
    let resized = ARTWORK_SIZES_PIXELS
        .iter()
        .filter(|side_pixels| **side_pixels < longest_side_pixels)
        .map(|side_pixels| render_jpeg(&image, *side_pixels))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Artwork { original, resized })
}

/// Scales `image` to fit a `side_pixels` square, keeping its aspect ratio, and encodes it as JPEG.
pub(crate) fn render_jpeg(image: &DynamicImage, side_pixels: u32) -> Result<ArtworkImage, String> {
    let scaled = image
        .resize(side_pixels, side_pixels, FilterType::Triangle)
        .into_rgb8();
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(&scaled)
        .map_err(|error| format!("could not render {side_pixels} px artwork: {error}"))?;
    Ok(ArtworkImage {
        mime_type: "image/jpeg".to_owned(),
        width_pixels: scaled.width(),
        height_pixels: scaled.height(),
        bytes,
    })
}
