//! The installer's download credits, shared by every page that offers "Get with a credit": how
//! many are left (known after a status load or a redemption), spending one on a track, and what
//! to tell people when the server refuses.
import type { Schemas } from "../api/client";
import { ApiError, apiError } from "../auth/session";
import { messageOf } from "../lib/errors";
import { Observable } from "../lib/store";

/** Credits left, or null until the status has been loaded (or after sign-out). */
export type CreditsAvailable = number | null;

export type RedeemOutcome = { ok: true; redemption: Schemas["RedemptionView"] } | { ok: false; message: string };

/** What the typed client's `POST /api/v1/installer/redemptions` resolves to. */
type RedemptionAnswer = Promise<{ data?: Schemas["RedemptionView"]; error?: unknown; response: Response }>;

/** Words for the refusals people can meet here; anything else gets the app-wide text for its code. */
export function redemptionErrorMessage(error: Pick<ApiError, "status" | "code" | "message">): string {
  switch (error.code) {
    case "no_credits":
      return "You have no download credits left. The agent earns more as it shows Megabox ads.";
    case "already_owned":
      return "This track is already in your library, so no credit was spent.";
    case "own_track":
      return "Credits are for other artists' music, not your own.";
    default:
      return error.status === 404 ? "This track is not in the store any more." : messageOf(new ApiError(error.status, error.code, error.message));
  }
}

export class Credits {
  readonly available = new Observable<CreditsAvailable>(null);

  /** Records what a status load said. */
  set(available: number) {
    this.available.set(available);
  }

  /** Forgets the count (sign-out): another account's credits are not this one's. */
  clear() {
    this.available.set(null);
  }

  /**
   * Spends one credit on `trackId` through `post` (the typed client's call). On success the count
   * becomes the server's; a `no_credits` refusal means the count here was stale, so it drops to 0.
   */
  async redeem(trackId: string, post: (trackId: string) => RedemptionAnswer): Promise<RedeemOutcome> {
    let answer: Awaited<RedemptionAnswer>;
    try {
      answer = await post(trackId);
    } catch {
      return { ok: false, message: "The request did not reach the server; no credit was spent. Try again." };
    }
    const { data, error, response } = answer;
    if (response.ok && data !== undefined) {
      this.available.set(data.credits_available);
      return { ok: true, redemption: data };
    }
    const refusal = apiError(response, error);
    if (refusal.code === "no_credits") this.available.set(0);
    return { ok: false, message: redemptionErrorMessage(refusal) };
  }
}
