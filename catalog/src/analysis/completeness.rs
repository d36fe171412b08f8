//! Detects files cut short where decoding cannot: an Ogg stream declares no length up front, so
//! one cut between two pages decodes as a shorter, valid-looking stream (only a complete stream
//! ends with a whole page carrying the end-of-stream flag); a WAV or AIFF file cut after its audio
//! loses only its trailing tag chunk, but is shorter than its RIFF or FORM header declares.

use super::{AnalysisError, Container};

/// How many bytes from the end of the file [`check`] needs.
pub(super) const TAIL_BYTES: u64 = LAST_PAGE_BYTES_MAX;

/// Checks the container's own declaration of completeness; `head` and `tail` are the first and
/// last bytes of the file, `size_bytes` its size.
pub(super) fn check(
    container: Container,
    head: &[u8],
    tail: &[u8],
    size_bytes: u64,
) -> Result<(), AnalysisError> {
    let declared_size_bytes = match container {
        Container::Ogg => return check_ogg_complete(tail),
        Container::Wav => head
            .get(4..8)
            .map(|size| u32::from_le_bytes([size[0], size[1], size[2], size[3]])),
        Container::Aiff => head
            .get(4..8)
            .map(|size| u32::from_be_bytes([size[0], size[1], size[2], size[3]])),
        Container::Flac | Container::Mp3 | Container::Mp4 => None,
    };
    match declared_size_bytes.map(|size| u64::from(size) + 8) {
        Some(declared_size_bytes) if declared_size_bytes > size_bytes => {
            Err(AnalysisError::Malformed {
                reason: format!(
                    "the header declares {declared_size_bytes} bytes but the file has {size_bytes}: the file is truncated"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// The largest Ogg page (27-byte header, 255 lacing values, 255 × 255 bytes of data): the last
/// page starts within this many bytes of the end.
const LAST_PAGE_BYTES_MAX: u64 = 27 + 255 + 255 * 255;

const CAPTURE_PATTERN: &[u8] = b"OggS";
const END_OF_STREAM_FLAG: u8 = 0x04;

const HEADER_BYTES: usize = 27;

/// Checks that the last page starting in `tail` (the end of the file) is whole and ends the stream.
fn check_ogg_complete(tail: &[u8]) -> Result<(), AnalysisError> {
    let last_page = tail
        .windows(CAPTURE_PATTERN.len() + 1)
        .rposition(|window| window.starts_with(CAPTURE_PATTERN) && window[4] == 0);
    match last_page.map(|start| &tail[start..]) {
        Some(page)
            if ends_stream(page)
                && page_length(page).is_some_and(|length| length <= page.len()) =>
        {
            Ok(())
        }
        _ => Err(AnalysisError::Malformed {
            reason: "the Ogg stream has no complete end-of-stream page: the file is truncated"
                .to_owned(),
        }),
    }
}

fn ends_stream(page: &[u8]) -> bool {
    page.get(5)
        .is_some_and(|flags| flags & END_OF_STREAM_FLAG != 0)
}

/// Header, segment table and data: the length the page's own header declares.
fn page_length(page: &[u8]) -> Option<usize> {
    let segment_count = usize::from(*page.get(HEADER_BYTES - 1)?);
    let segment_table = page.get(HEADER_BYTES..HEADER_BYTES + segment_count)?;
    Some(
        HEADER_BYTES
            + segment_count
            + segment_table
                .iter()
                .map(|length| usize::from(*length))
                .sum::<usize>(),
    )
}

#[cfg(test)]
mod tests {
    use super::check_ogg_complete;

    #[test]
    fn only_a_stream_whose_last_page_ends_it_is_complete() {
        // A page with two segments of 10 and 5 bytes.
        let page = |flags: u8| {
            [
                b"OggS".as_slice(),
                &[0, flags],
                &[0xAB; 20],
                &[2, 10, 5],
                &[0xCD; 15],
            ]
            .concat()
        };
        let cases: Vec<(Vec<u8>, bool)> = vec![
            ([page(0x02), page(0x00), page(0x04)].concat(), true),
            (
                [
                    page(0x02),
                    page(0x00),
                    page(0x04),
                    b"trailing junk".to_vec(),
                ]
                .concat(),
                true,
            ),
            ([page(0x02), page(0x00), page(0x00)].concat(), false),
            (
                [page(0x02), page(0x04), page(0x00)[..20].to_vec()].concat(),
                false,
            ),
            (
                [page(0x02), page(0x00), page(0x04)[..40].to_vec()].concat(),
                false,
            ),
            (
                [page(0x02), page(0x00), page(0x04)[..27].to_vec()].concat(),
                false,
            ),
            (b"no pages at all".to_vec(), false),
        ];
        for (tail, complete) in cases {
            assert_eq!(check_ogg_complete(&tail).is_ok(), complete, "{tail:?}");
        }
    }
}
