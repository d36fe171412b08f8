//! The free streaming tier in words: why it is on, or how to turn it on.
import type { Schemas } from "../api/client";

/** One sentence for the installer page under the status pill. */
export function freeTierExplanation(freeTier: Schemas["FreeTierView"]): string {
  if (!freeTier.active) return "It turns on while a paired agent shows Megabox ads, and stays on as long as it keeps showing a few each week.";
  switch (freeTier.reason) {
    case "operator":
      return "Megabox support switched it on for your account.";
    case "agent_active":
      return "Your agents showed enough Megabox ads this week.";
    default:
      return "Full tracks stream for free on this account.";
  }
}
