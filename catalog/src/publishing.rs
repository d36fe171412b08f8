//! The rule of what may be public: a published release is complete (title, tracks, prices), and
//! every change a listener could see is checked against it and reaches the search index.

use megabox_database::DbConnection;

use crate::error::{CatalogError, PublishProblem};
use crate::records::{Release, Track, tracks_of_release};
use crate::release_state::ReleaseState;
use crate::search_index;

/// After any change a listener could see: a published release must still be complete, and the
/// search index must show the new text.
pub(crate) fn after_public_change(
    connection: &mut DbConnection,
    release: &Release,
) -> Result<(), CatalogError> {
    if release.state != ReleaseState::Published {
        return Ok(());
    }
    let tracks = tracks_of_release(connection, release.id)?;
    let problems = publish_problems(release, &tracks);
    if !problems.is_empty() {
        return Err(CatalogError::NotPublishable { problems });
    }
    search_index::refresh_artist(connection, release.artist_id)
}

/// Everything that keeps a release from being published. Every track has an analysis by
/// construction (tracks are created only by ingesting an analysed file).
pub(crate) fn publish_problems(release: &Release, tracks: &[Track]) -> Vec<PublishProblem> {
    let mut problems = Vec::new();
    if release.title.is_none() {
        problems.push(PublishProblem::MissingTitle);
    }
    if tracks.is_empty() {
        problems.push(PublishProblem::NoTracks);
    }
    if release.price.is_none() {
        problems.push(PublishProblem::ReleaseUnpriced);
    }
    problems.extend(
        tracks
            .iter()
            .filter(|track| track.price.is_none())
            .map(|track| PublishProblem::TrackUnpriced(track.id)),
    );
    problems
}
