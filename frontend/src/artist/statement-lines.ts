//! How a statement line reads for people: what it is about, by title, never by internal id.
import type { Schemas } from "../api/client";

/** Words for each ledger kind a statement can show (the server's `kind`). */
const KIND_TEXT: Readonly<Record<string, string>> = {
  sale: "Sale",
  refund: "Refund",
  ad_revenue: "Ad revenue",
  ad_clawback: "Ad revenue taken back",
  period_pool: "Monthly pool",
  ad_allocation: "Ad share",
  payout: "Payout",
  payout_posted: "Payout sent",
  payout_voided: "Payout returned",
  debt_recovery: "Recovered balance",
};

export function lineKind(line: Pick<Schemas["StatementLineView"], "kind">): string {
  return KIND_TEXT[line.kind] ?? line.kind.replaceAll("_", " ");
}

/** The item's title for sales and refunds; the month for monthly lines; nothing that is only an id. */
export function lineReference(line: Pick<Schemas["StatementLineView"], "kind" | "source_ref" | "title">): string {
  if (line.title != null) return line.title;
  const item = /^(release|track):/.exec(line.source_ref);
  if (item !== null) return `A ${item[1]} no longer in your catalog`;
  if (/^\d{4}-\d{2}$/.test(line.source_ref)) return line.source_ref;
  return "";
}
