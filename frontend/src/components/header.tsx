//! The site header: role-aware navigation and the account controls. On a phone both fold behind
//! a Menu button (CSS decides when: the button is hidden on wider screens, where the menu is always open).
import { useEffect, useState } from "preact/hooks";
import type { Role } from "../auth/session";
import { Link, navigate, useLocation } from "../lib/router";
import { session, useCart, useSession } from "../state";

interface NavigationItem {
  href: string;
  label: string;
}

const NAVIGATION_BY_ROLE: Record<Role | "anonymous", readonly NavigationItem[]> = {
  anonymous: [
    { href: "/", label: "Browse" },
    { href: "/search", label: "Search" },
  ],
  listener: [
    { href: "/", label: "Browse" },
    { href: "/search", label: "Search" },
    { href: "/library", label: "Library" },
    { href: "/free-music", label: "Free music" },
  ],
  artist: [
    { href: "/", label: "Browse" },
    { href: "/artist", label: "Dashboard" },
    { href: "/artist/upload", label: "New release" },
    { href: "/artist/earnings", label: "Earnings" },
    { href: "/artist/payouts", label: "Payouts" },
    { href: "/library", label: "Library" },
  ],
  admin: [
    { href: "/", label: "Browse" },
    { href: "/operator", label: "Operator" },
  ],
};

export function Header() {
  const state = useSession();
  const location = useLocation();
  const cartItems = useCart();
  const role = state.status === "signed_in" ? state.me.role : "anonymous";
  const [menuOpen, setMenuOpen] = useState(false);
  // Following a link closes the menu, so the new page is not hidden behind it.
  useEffect(() => setMenuOpen(false), [location.path]);

  const signOut = async () => {
    // Leave the page first, so a signed-in-only page does not flash its "sign in" state.
    navigate("/");
    await session.logout();
  };

  const signedIn = state.status === "signed_in";
  // Signed in, the account controls fold into the menu with the navigation; a visitor's Sign in
  // and Sign up stay in the bar.
  const account = (
    <div class={signedIn ? "account account-signed-in" : "account"}>
      {state.status === "signed_in" ? (
        <>
          <span class="account-name" data-testid="account-name">
            {state.me.display_name} <span class="role">({state.me.role})</span>
          </span>
          <button type="button" class="button-secondary" onClick={signOut}>
            Sign out
          </button>
        </>
      ) : state.status === "anonymous" ? (
        <>
          <Link href="/signin">Sign in</Link>
          <Link href="/signup" class="button">
            Sign up
          </Link>
        </>
      ) : null}
    </div>
  );

  return (
    <header class={menuOpen ? "site-header site-header-open" : "site-header"}>
      <Link href="/" class="brand">
        Megabox<span class="brand-tagline"> · artists keep 90%</span>
      </Link>
      <button type="button" class="button-secondary menu-toggle" aria-expanded={menuOpen} aria-controls="site-menu" onClick={() => setMenuOpen(!menuOpen)}>
        Menu
        {cartItems.length === 0 ? null : <span class="badge" aria-label={`${cartItems.length} items in the cart`}>{cartItems.length}</span>}
      </button>
      <div id="site-menu" class="site-menu">
        <nav aria-label="Main">
          <ul>
            {NAVIGATION_BY_ROLE[role].map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={location.path === item.href ? "page" : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
            <li>
              <Link href="/cart" aria-current={location.path === "/cart" ? "page" : undefined}>
                Cart<span class="badge" aria-label={`${cartItems.length} items`}>{cartItems.length}</span>
              </Link>
            </li>
          </ul>
        </nav>
        {signedIn ? account : null}
      </div>
      {signedIn ? null : account}
    </header>
  );
}
