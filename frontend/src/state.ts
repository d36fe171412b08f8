//! The app's singletons: the session (and through it the typed API client), the cart, the
//! installer's download credits and the free tier.
import { REFRESH_TOKEN_STORAGE_KEY, Session, type SessionState } from "./auth/session";
import { parseStoredCart, type CartItem } from "./cart/cart";
import { Credits, type CreditsAvailable } from "./installer/credits";
import { Observable, useObservable } from "./lib/store";

export const session = new Session((request) => fetch(request), window.localStorage, window.location.origin);

// Signing out in one tab signs out every tab: the shared refresh token is gone.
window.addEventListener("storage", (event) => {
  if (event.key === REFRESH_TOKEN_STORAGE_KEY && event.newValue === null && session.state.status === "signed_in") void session.logout();
});

const sessionState = {
  get value(): SessionState {
    return session.state;
  },
  subscribe: (listener: (state: SessionState) => void) => session.subscribe(listener),
};

export function useSession(): SessionState {
  return useObservable(sessionState);
}

const CART_STORAGE_KEY = "megabox.cart";

export const cart = new Observable<CartItem[]>(parseStoredCart(window.localStorage.getItem(CART_STORAGE_KEY)));
cart.subscribe((items) => window.localStorage.setItem(CART_STORAGE_KEY, JSON.stringify(items)));

export function useCart(): CartItem[] {
  return useObservable(cart);
}

export const credits = new Credits();
/** Whether the signed-in caller streams for free (from `GET /installer/status`); null until known. */
export const freeTier = new Observable<boolean | null>(null);
session.subscribe((state) => {
  if (state.status !== "signed_in") {
    credits.clear();
    freeTier.set(null);
  }
});

export function useFreeTier(): boolean | null {
  return useObservable(freeTier);
}

export function useCredits(): CreditsAvailable {
  return useObservable(credits.available);
}
