//! Where each kind of account starts after signing in.
import type { Role } from "./session";

export function landingPathFor(role: Role | undefined): string {
  switch (role) {
    case "artist":
      return "/artist";
    case "admin":
      return "/operator";
    default:
      return "/";
  }
}
