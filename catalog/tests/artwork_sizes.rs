//! Cover art is served in three sizes: scaled down once and cached, never scaled up.

use catalog::artwork::{ArtworkSize, rendition};
use catalog::storage::{BlobKey, BlobKind, BlobStore, LocalBlobStore};

fn stored_png(blobs: &LocalBlobStore, side_pixels: u32) -> BlobKey {
    let image = image::RgbImage::from_fn(side_pixels, side_pixels, |x, y| {
        image::Rgb([
            u8::try_from(x % 256).expect("below 256"),
            u8::try_from(y % 256).expect("below 256"),
            90,
        ])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("PNG encodes");
    let key = BlobKey::generate(BlobKind::Artwork);
    blobs
        .put(&key, &mut bytes.get_ref().as_slice(), 10 * 1024 * 1024)
        .expect("blob stored");
    key
}

#[test]
fn renditions_are_scaled_down_cached_and_never_up() {
    let directory = tempfile::tempdir().unwrap();
    let blobs = LocalBlobStore::open(directory.path().join("media")).unwrap();
    let cache = directory.path().join("sizes");
    let key = stored_png(&blobs, 1000);
    let cases = [
        (ArtworkSize::Small, 300),
        (ArtworkSize::Medium, 600),
        (ArtworkSize::Large, 1000),
    ];
    for (size, expected_side) in cases {
        let path = rendition(&blobs, &key, size, &cache).unwrap();
        let image = image::ImageReader::open(&path)
            .unwrap()
            .with_guessed_format()
            .unwrap()
            .decode()
            .unwrap();
        assert_eq!(image.width().max(image.height()), expected_side, "{size:?}");
        assert_eq!(
            rendition(&blobs, &key, size, &cache).unwrap(),
            path,
            "the second request reads the cache"
        );
    }
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        2,
        "small and medium cached; large is the stored image"
    );
    assert!(ArtworkSize::parse("huge").is_err());
}
