//! What the release editor's one Save sends: the fields a person changed (and only those), for the
//! release and for each track, or the first thing to fix, named by the track's title.
import type { Schemas } from "../api/client";
import type { Price } from "../catalog/price";
import type { PriceFormResult } from "./price-form";
import { parseTagsInput } from "../tags/tags";

export type ReleaseKind = Schemas["ReleaseKindView"];

/** The release fields a person has edited; a field absent here keeps its stored value. */
export interface ReleaseDraft {
  title?: string;
  kind?: ReleaseKind;
  release_date?: string;
  credits?: string;
  /** Comma-separated, as typed. */
  tags?: string;
  price?: PriceFormResult;
}

/** The track fields a person has edited. */
export interface TrackDraft {
  title?: string;
  price?: PriceFormResult;
}

export interface TrackPatch {
  id: string;
  /** The title people know the track by, for messages about this patch. */
  title: string;
  body: Schemas["UpdateTrackRequest"];
}

export type SavePlan = { error: string } | { release: Schemas["UpdateReleaseRequest"] | null; tracks: TrackPatch[] };

function samePrice(left: Price | null | undefined, right: Price | null | undefined): boolean {
  return JSON.stringify(left ?? null) === JSON.stringify(right ?? null);
}

/** The PATCH bodies for what changed, or the first error to show (fields are checked in page order). */
export function planSave(detail: Schemas["ReleaseDetailView"], releaseDraft: ReleaseDraft, trackDrafts: Readonly<Record<string, TrackDraft>>): SavePlan {
  const tracks: TrackPatch[] = [];
  for (const [index, track] of detail.tracks.entries()) {
    const draft = trackDrafts[track.id];
    if (draft === undefined) continue;
    const name = `Track ${index + 1} (${track.title})`;
    const body: Schemas["UpdateTrackRequest"] = {};
    if (draft.title !== undefined && draft.title !== track.title) {
      if (draft.title.trim() === "") return { error: `${name} needs a title.` };
      body.title = draft.title;
    }
    if (draft.price !== undefined) {
      if ("error" in draft.price) return { error: `${name}: ${draft.price.error}` };
      if (!samePrice(draft.price.price, track.price)) body.price = draft.price.price;
    }
    if (Object.keys(body).length > 0) tracks.push({ id: track.id, title: body.title ?? track.title, body });
  }

  const stored = detail.release;
  const release: Schemas["UpdateReleaseRequest"] = {};
  if (releaseDraft.title !== undefined && releaseDraft.title !== (stored.title ?? "")) {
    if (releaseDraft.title.trim() === "") return { error: "The release needs a title." };
    release.title = releaseDraft.title;
  }
  if (releaseDraft.kind !== undefined && releaseDraft.kind !== stored.kind) release.kind = releaseDraft.kind;
  if (releaseDraft.release_date !== undefined && releaseDraft.release_date !== (stored.release_date ?? "")) {
    release.release_date = releaseDraft.release_date === "" ? null : releaseDraft.release_date;
  }
  if (releaseDraft.credits !== undefined && releaseDraft.credits !== stored.credits) release.credits = releaseDraft.credits;
  if (releaseDraft.tags !== undefined) {
    const parsed = parseTagsInput(releaseDraft.tags);
    if ("error" in parsed) return { error: `Tags: ${parsed.error}` };
    // The server keeps tags in alphabetical order, so only a different set is a change.
    if ([...parsed.tags].sort().join(",") !== [...detail.tags].sort().join(",")) release.tags = parsed.tags;
  }
  if (releaseDraft.price !== undefined) {
    if ("error" in releaseDraft.price) return { error: `Price of the whole release: ${releaseDraft.price.error}` };
    if (!samePrice(releaseDraft.price.price, stored.price)) release.price = releaseDraft.price.price;
  }
  return { release: Object.keys(release).length > 0 ? release : null, tracks };
}

/** True when a plan sends nothing. */
export function isEmptyPlan(plan: SavePlan): boolean {
  return !("error" in plan) && plan.release === null && plan.tracks.length === 0;
}
