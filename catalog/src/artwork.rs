//! Cover art in the sizes the apps show: the stored artwork (the largest rendition made at
//! ingest) scaled down to 300, 600 or 1200 px on first request and cached as JPEG next to the
//! media, so later requests are plain file reads. The stored image was decoded and checked at
//! ingest, in the sandbox; it is never scaled up.

use std::path::{Path, PathBuf};

use crate::error::CatalogError;
use crate::storage::{BlobKey, BlobLocation, BlobStore};

/// The sizes offered, by their longest side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtworkSize {
    Small,
    Medium,
    Large,
}

impl ArtworkSize {
    pub fn parse(text: &str) -> Result<ArtworkSize, CatalogError> {
        match text {
            "small" => Ok(ArtworkSize::Small),
            "medium" => Ok(ArtworkSize::Medium),
            "large" => Ok(ArtworkSize::Large),
            _ => Err(CatalogError::Invalid {
                field: "size",
                reason: "must be small, medium or large".to_owned(),
            }),
        }
    }

    pub fn side_pixels(self) -> u32 {
        match self {
            ArtworkSize::Small => 300,
            ArtworkSize::Medium => 600,
            ArtworkSize::Large => 1200,
        }
    }
}

/// The file to serve for `key` at `size`: a cached rendition, made now if missing, or the stored
/// image itself when it is no larger than the size asked for.
pub fn rendition(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    size: ArtworkSize,
    cache_dir: &Path,
) -> Result<PathBuf, CatalogError> {
    let BlobLocation::LocalFile(source) = blobs.locate(key)?;
    let cached = cache_dir.join(format!(
        "{}-{}.jpg",
        key.to_string().replace('/', "-"),
        size.side_pixels()
    ));
    if cached.is_file() {
        return Ok(cached);
    }
    let corrupt = |what: String| CatalogError::Corrupt(format!("artwork {key}: {what}"));
    // Blobs have no file extension: the format is read from the content.
    let image = image::ImageReader::open(&source)
        .and_then(image::ImageReader::with_guessed_format)
        .map_err(|error| corrupt(error.to_string()))?
        .decode()
        .map_err(|error| corrupt(error.to_string()))?;
    if image.width().max(image.height()) <= size.side_pixels() {
        return Ok(source);
    }
    let rendered =
        crate::analysis::artwork::render_jpeg(&image, size.side_pixels()).map_err(corrupt)?;
    std::fs::create_dir_all(cache_dir).map_err(|error| corrupt(error.to_string()))?;
    // Written aside and renamed, so a concurrent request never reads half a file.
    let partial = cache_dir.join(format!("{}.partial", uuid::Uuid::new_v4()));
    std::fs::write(&partial, &rendered.bytes)
        .and_then(|()| std::fs::rename(&partial, &cached))
        .map_err(|error| {
            let _ = std::fs::remove_file(&partial);
            corrupt(error.to_string())
        })?;
    Ok(cached)
}
