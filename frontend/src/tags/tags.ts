//! Tags as the artist types them (comma-separated) and as the API stores them (trimmed, lower
//! case, at most 10 of at most 40 characters each), checked here so Save can say what to fix.

export const TAGS_PER_RELEASE_MAX = 10;
export const TAG_CHARACTERS_MAX = 40;

/** The tags typed into the editor, normalised as the server does, or what to fix. */
export function parseTagsInput(text: string): { tags: string[] } | { error: string } {
  const tags: string[] = [];
  for (const part of text.split(",")) {
    const tag = part.trim().toLowerCase();
    if (tag === "") continue;
    if ([...tag].length > TAG_CHARACTERS_MAX) return { error: `A tag has at most ${TAG_CHARACTERS_MAX} characters ("${tag.slice(0, 20)}…").` };
    if (!tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > TAGS_PER_RELEASE_MAX) return { error: `A release has at most ${TAGS_PER_RELEASE_MAX} tags.` };
  return { tags };
}

/** The path of a tag's page. */
export function tagPath(tag: string): string {
  return `/tags/${encodeURIComponent(tag)}`;
}
