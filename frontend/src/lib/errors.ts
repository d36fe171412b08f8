//! Turning whatever a failed call threw into the sentence a page shows: every error code the
//! server can answer has text written for people here, and the few whose server message carries
//! the specifics (which field, which track) show that message tidied: capitalised, ended with a
//! full stop, and with internal ids replaced by the names the page knows (or by "an item").
import { ApiError } from "../auth/session";

/** Fixed text per error code, for codes whose server message adds nothing a person needs. */
export const ERROR_TEXT: Readonly<Record<string, string>> = {
  // Accounts and sessions.
  invalid_credentials: "Wrong email or password.",
  email_taken: "An account with this email already exists. Sign in instead, or use another email.",
  invalid_role: "Choose whether the account is for a listener or an artist.",
  unauthorized: "Please sign in first.",
  invalid_token: "Your session has ended. Please sign in again.",
  invalid_refresh_token: "Your session has ended. Please sign in again.",
  invalid_metrics_token: "Metrics need the operator's metrics token.",
  refresh_token_reused: "For your safety you were signed out everywhere. Please sign in again.",
  forbidden: "Your account cannot do this.",
  rate_limited: "Too many tries in a short time. Wait a minute, then try again.",
  // Catalog and uploads.
  not_found: "This is not here: it may have been taken down, or the link is wrong.",
  invalid_transition: "This cannot change that way any more. Reload the page to see where it stands.",
  quota_exceeded: "Your storage is full. Remove a draft or a track before uploading more.",
  too_many_uploads: "Several uploads are still in progress. Wait for one to finish, then try again.",
  file_too_large: "This file is too large to upload.",
  empty_file: "This file is empty.",
  missing_file: "Choose a file to upload.",
  too_many_files: "Upload one file at a time.",
  unexpected_field: "The upload was not understood. Reload the page and try again.",
  malformed_multipart: "The upload was cut off. Try again.",
  storage_full: "The server has no room for this file right now. Try again later.",
  unsupported_codec: "This audio codec is not supported. Upload FLAC, WAV, AIFF, MP3, Ogg or M4A.",
  unsupported_format: "This file format is not supported. Upload FLAC, WAV, AIFF, MP3, Ogg or M4A.",
  // Listening, buying and downloading.
  not_entitled: "This is a preview. Buy the track, or turn on free streaming, to hear all of it.",
  link_expired: "This link has expired. Start the download or the track again.",
  play_ended: "This track stopped because another one started playing on your account. Start it again to keep listening.",
  already_owned: "You already own this: it is in your library.",
  checkout_closed: "This checkout is already finished. Start a new one from your cart.",
  gateway_unavailable: "The payment provider did not answer. Nothing was charged; try again in a moment.",
  unknown_format: "Choose FLAC, MP3 320, MP3 V0 or the original file.",
  invalid_format: "Choose JSON or CSV.",
  // Free music, devices and credits.
  no_credits: "You have no download credits to spend.",
  own_track: "A credit cannot be spent on your own music.",
  pairing_code_used: "This pairing code was already used. Get a new one.",
  pairing_code_expired: "This pairing code has expired. Get a new one.",
  public_key_taken: "This device is already paired.",
  // Operator.
  invalid_size: "Choose an ad size such as 300x250.",
  invalid_action: "Choose Pay or Cancel.",
  invalid_timestamp: "Enter a complete date and time.",
  // Requests the web app itself got wrong: nothing the person typed can fix these.
  invalid_body: "The app sent something the server did not understand. Reload the page and try again.",
  malformed_json: "The app sent something the server did not understand. Reload the page and try again.",
  invalid_query: "The app sent something the server did not understand. Reload the page and try again.",
  unsupported_media_type: "The app sent something the server did not understand. Reload the page and try again.",
  body_too_large: "That is too much to send at once.",
  // Only the agent meets these; listed so no code is left without words.
  invalid_signature: "The request's signature was not accepted.",
  malformed_event: "The payment provider's message was not understood.",
  bad_signature: "The device's signature was not accepted. Pair the device again.",
  unknown_device: "This device is not paired. Pair it again.",
  revoked_device: "This device was revoked. Pair it again.",
  flagged_device: "This device was flagged and can no longer report.",
  stale_sequence: "The device sent an old batch again.",
  malformed_batch: "The device sent a batch that was not understood.",
  batch_refused: "The device's batch was refused.",
  already_refunded: "This was already refunded.",
  // The server's own trouble.
  internal: "Something went wrong on our side. Try again; if it keeps happening, contact support.",
  unavailable: "Megabox is busy or down for a moment. Try again shortly.",
};

/** Text for answers without an error body, by HTTP status. */
const HTTP_STATUS_TEXT: Readonly<Record<number, string>> = {
  401: ERROR_TEXT.unauthorized!,
  403: ERROR_TEXT.forbidden!,
  404: ERROR_TEXT.not_found!,
  413: ERROR_TEXT.file_too_large!,
  429: ERROR_TEXT.rate_limited!,
  502: ERROR_TEXT.unavailable!,
  503: ERROR_TEXT.unavailable!,
  504: ERROR_TEXT.unavailable!,
};

/**
 * Codes whose server message says what to fix (the field and the rule, the track, the amount);
 * it is shown tidied rather than replaced.
 */
export const DETAILED_CODES: ReadonlySet<string> = new Set(["invalid_input", "invalid_cart", "not_publishable", "duplicate_audio", "invalid_audio", "invalid_period", "format_unavailable"]);

/** An internal id as the server writes it: a UUID, optionally prefixed by its kind (`release:…`). */
const ID_PATTERN = /\b(?:(release|track|sale|order|item|device|user|account)[: ])?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/gi;

/** What a page knows to call things: id → title or name. */
export type Names = ReadonlyMap<string, string>;

/** Replaces ids with their names (quoted) or with a plain noun, then capitalises and ends the sentence. */
export function humanize(message: string, names: Names = new Map()): string {
  const withNames = message.replace(ID_PATTERN, (_match, kind: string | undefined, id: string) => {
    const name = names.get(id.toLowerCase());
    if (name !== undefined) return kind === undefined || kind.toLowerCase() === "item" ? `“${name}”` : `${kind.toLowerCase()} “${name}”`;
    return kind === undefined ? "an item" : `a ${kind.toLowerCase()}`;
  });
  const trimmed = withNames.trim();
  if (trimmed === "") return "Something went wrong. Try again.";
  const capitalised = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/** The text for an API error's code. */
export function apiErrorText(error: ApiError, names?: Names): string {
  const fixed = ERROR_TEXT[error.code];
  if (fixed !== undefined) return fixed;
  if (DETAILED_CODES.has(error.code)) return humanize(error.message, names);
  // No JSON body (a proxy's page, say): the status is all there is to go on.
  if (error.code.startsWith("http_")) return HTTP_STATUS_TEXT[error.status] ?? (error.status >= 500 ? ERROR_TEXT.internal! : `The server answered ${error.status}. Try again.`);
  return humanize(error.message, names);
}

/**
 * The sentence to show for a failure: API errors by code, a lost connection as such, anything
 * else as its message. `names` maps the ids the page shows to their titles.
 */
export function messageOf(failure: unknown, names?: Names): string {
  if (failure instanceof ApiError) return apiErrorText(failure, names);
  // fetch rejects with a TypeError when the request never got an answer (each browser words it differently).
  if (failure instanceof TypeError && /fetch|network|load failed/i.test(failure.message)) return "Megabox could not be reached. Check your connection and try again.";
  return failure instanceof Error ? humanize(failure.message, names) : String(failure);
}
