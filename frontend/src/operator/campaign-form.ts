//! The operator's advertising forms as data: what was typed into the campaign form turned into the
//! API's request (integer cents, UTC day bounds), a campaign's spend as a share of its budget for
//! the bar, and which creative field a server refusal is about. The server checks everything
//! again and owns the rules; this only catches typos early and puts its answers in the right place.
import type { Schemas } from "../api/client";
import type { ApiError } from "../auth/session";
import { MICRO_CENTS_PER_CENT, parseCents } from "../lib/money";

export interface TypedCampaign {
  advertiser_id: string;
  name: string;
  cpm: string;
  budget: string;
  /** `YYYY-MM-DD` from a date input: the first day the campaign runs (UTC). */
  starts_on: string;
  /** `YYYY-MM-DD`: the last day the campaign runs, included (UTC). */
  ends_on: string;
}

export type CampaignField = keyof TypedCampaign;

export type CampaignFormResult = { request: Schemas["NewCampaignRequest"] } | { errors: Partial<Record<CampaignField, string>> };

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function campaignFromForm(typed: TypedCampaign): CampaignFormResult {
  const errors: Partial<Record<CampaignField, string>> = {};
  if (typed.advertiser_id === "") errors.advertiser_id = "Choose an advertiser (add one first if the list is empty).";
  const name = typed.name.trim();
  if (name === "") errors.name = "Give the campaign a name.";
  const cpm_cents = parseCents(typed.cpm);
  if (cpm_cents === null || cpm_cents === 0) errors.cpm = "Enter the price per thousand impressions, like 2.50.";
  const budget_cents = parseCents(typed.budget);
  if (budget_cents === null || budget_cents === 0) errors.budget = "Enter a budget above $0.00, like 500.";
  if (!DAY_PATTERN.test(typed.starts_on)) errors.starts_on = "Choose the first day.";
  if (!DAY_PATTERN.test(typed.ends_on)) errors.ends_on = "Choose the last day.";
  else if (DAY_PATTERN.test(typed.starts_on) && typed.ends_on < typed.starts_on) errors.ends_on = "The last day cannot be before the first.";
  if (Object.keys(errors).length > 0 || cpm_cents === null || budget_cents === null) return { errors };
  return {
    request: {
      advertiser_id: typed.advertiser_id,
      name,
      cpm_cents,
      budget_cents,
      // The API takes RFC 3339 date-times; the days are UTC days, and the last day is included up to its last second.
      starts_at: `${typed.starts_on}T00:00:00Z`,
      ends_at: `${typed.ends_on}T23:59:59Z`,
    },
  };
}

const BASIS_POINTS_WHOLE = 10_000n;

/** How much of its budget a campaign has spent, in basis points (0 to 10 000), rounded down; integers only. */
export function spentBasisPoints(spent_micro_cents: number, budget_cents: number): number {
  if (budget_cents <= 0 || spent_micro_cents <= 0) return 0;
  const share = (BigInt(spent_micro_cents) * BASIS_POINTS_WHOLE) / (BigInt(budget_cents) * BigInt(MICRO_CENTS_PER_CENT));
  return Number(share > BASIS_POINTS_WHOLE ? BASIS_POINTS_WHOLE : share);
}

/** Basis points as a percentage with one decimal: 1234 → "12.3%". */
export function formatBasisPoints(basis_points: number): string {
  return `${Math.trunc(basis_points / 100)}.${Math.trunc((basis_points % 100) / 10)}%`;
}

/** Campaign states an operator may move a campaign to from `status`; an ended campaign stays ended. */
export function nextStatuses(status: string): ("active" | "paused" | "ended")[] {
  if (status === "active") return ["paused", "ended"];
  if (status === "paused") return ["active", "ended"];
  return [];
}

export type CreativeField = "file" | "size" | "headline" | "body" | "link_url";

/**
 * The creative field a refused upload is about, read from the server's answer (its errors carry a
 * code and a message, not a field name), or null when it concerns the whole form (an ended
 * campaign, a lost connection).
 */
export function creativeErrorField(error: Pick<ApiError, "status" | "code" | "message">): CreativeField | null {
  if (error.status === 413) return "file";
  if (error.code === "invalid_size" || / is not an accepted creative size/.test(error.message)) return "size";
  if (/creative image|multipart|file/i.test(error.message)) return "file";
  if (/link URL/i.test(error.message)) return "link_url";
  if (/\bheadline\b/.test(error.message)) return "headline";
  if (/\bbody\b/.test(error.message)) return "body";
  return null;
}
