//! A release's tags as links to their tag pages.
import { Link } from "../lib/router";
import { tagPath } from "./tags";

export function TagLinks({ tags }: { tags: readonly string[] }) {
  if (tags.length === 0) return null;
  return (
    <ul class="tags" aria-label="Tags">
      {tags.map((tag) => (
        <li key={tag}>
          <Link href={tagPath(tag)}>{tag}</Link>
        </li>
      ))}
    </ul>
  );
}
