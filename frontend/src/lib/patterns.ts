//! Patterns for `<input pattern>`. Chrome compiles them with the RegExp `v` flag, where a bare `-`
//! at the end of a class is a syntax error (the whole check is then skipped): keep these valid there.

/** A UUID in its usual 8-4-4-4-12 hex form. */
export const UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
