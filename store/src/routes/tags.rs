//! Browsing by tag: the most used tags of the published catalog, and the published releases that
//! carry one, a page at a time. Artists set tags with `PATCH /releases/{id}`.

use actix_web::{get, web};
use catalog::tags;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::{PAGE_SIZE_DEFAULT, PageQuery, ReleasePageView};
use crate::error::ApiError;
use crate::state::AppState;

const TAGS_LISTED_DEFAULT: u32 = 50;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TagsQuery {
    /// 1 to 100; default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct TagCountView {
    pub tag: String,
    /// How many published releases carry it.
    pub release_count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct TagListView {
    pub tags: Vec<TagCountView>,
}

/// The tags most published releases carry, most used first.
#[utoipa::path(tag = "catalog", params(TagsQuery),
    responses((status = 200, body = TagListView), (status = 422, body = crate::error::ErrorBody)))]
#[get("/catalog/tags")]
pub async fn most_used_tags(
    state: web::Data<AppState>,
    query: web::Query<TagsQuery>,
) -> Result<web::Json<TagListView>, ApiError> {
    let limit = query.into_inner().limit.unwrap_or(TAGS_LISTED_DEFAULT);
    let counted = state
        .database(move |connection| Ok(tags::most_used_tags(connection, limit)?))
        .await?;
    Ok(web::Json(TagListView {
        tags: counted
            .into_iter()
            .map(|count| TagCountView {
                tag: count.tag,
                release_count: count.release_count,
            })
            .collect(),
    }))
}

/// Published releases carrying a tag (matched trimmed and in lower case), newest first.
#[utoipa::path(tag = "catalog", params(("tag" = String, Path), PageQuery),
    responses((status = 200, body = ReleasePageView), (status = 422, description = "an invalid tag, cursor or limit", body = crate::error::ErrorBody)))]
#[get("/catalog/tags/{tag}")]
pub async fn releases_with_tag(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ReleasePageView>, ApiError> {
    let tag = path.into_inner();
    let PageQuery { cursor, limit } = query.into_inner();
    let page = state
        .database(move |connection| {
            Ok(tags::releases_with_tag(
                connection,
                &tag,
                cursor.as_deref(),
                limit.unwrap_or(PAGE_SIZE_DEFAULT),
            )?)
        })
        .await?;
    Ok(web::Json(page.into()))
}
