//! The free streaming tier in words: why it is on, or how to turn it on (and the command that pairs an agent).
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

/** The command that pairs an agent with this server: the agent needs the code and where the server is. */
export function pairingCommand(code: string, origin: string): string {
  return `megabox-agent pair ${code} --server ${origin}`;
}

/** Why a track plays as a preview, and how to hear the rest; null when it may play in full or nobody knows yet. */
export function previewReason({ signedIn, owned, ownMusic, freeTier }: { signedIn: boolean; owned: boolean | undefined; ownMusic: boolean; freeTier: boolean | null }): string | null {
  if (!signedIn) return "You are hearing 30-second previews. Sign in and buy the music, or get free streaming with the Megabox agent, to hear whole tracks.";
  if (owned === true || ownMusic || freeTier !== false) return null;
  return "You are hearing 30-second previews: this music is not in your library and free streaming is off. Buy the release or a track, or turn on free streaming with the Megabox agent.";
}
