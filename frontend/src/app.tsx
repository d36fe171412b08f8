//! The app shell: header, the routed page, and the player. The player sits outside the routed
//! view, so playback and the queue survive navigation.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { Role } from "./auth/session";
import { SignInPage } from "./auth/sign-in-page";
import { SignUpPage } from "./auth/sign-up-page";
import { Header } from "./components/header";
import { Link, matchRoute, useLocation } from "./lib/router";
import { Player } from "./player/player";
import { useSession } from "./state";
import { HomePage } from "./catalog/home-page";
import { SearchPage } from "./catalog/search-page";
import { ReleasePage } from "./catalog/release-page";
import { ArtistPage } from "./catalog/artist-page";
import { CartPage } from "./cart/cart-page";
import { CheckoutCompletePage } from "./cart/checkout-complete-page";
import { LibraryPage } from "./library/library-page";
import { ArtistDashboardPage } from "./artist/dashboard-page";
import { UploadPage } from "./artist/upload-page";
import { ReleaseEditorPage } from "./artist/release-editor-page";
import { EarningsPage } from "./artist/earnings-page";
import { PayoutsPage } from "./artist/payouts-page";
import { InstallerPage } from "./installer/installer-page";
import { OperatorPage } from "./operator/operator-page";
import { TagPage } from "./tags/tag-page";

interface Route {
  pattern: string;
  title: string;
  /** Who may see the page; absent means anyone. */
  roles?: readonly Role[];
  render: (parameters: Record<string, string>, query: URLSearchParams) => JSX.Element;
}

const SIGNED_IN: readonly Role[] = ["listener", "artist", "admin"];

const routes: readonly Route[] = [
  { pattern: "/", title: "New releases", render: () => <HomePage /> },
  { pattern: "/search", title: "Search", render: (_, query) => <SearchPage query={query.get("q") ?? ""} /> },
  { pattern: "/releases/:id", title: "Release", render: (parameters) => <ReleasePage releaseId={parameters.id!} /> },
  { pattern: "/artists/:id", title: "Artist", render: (parameters) => <ArtistPage artistId={parameters.id!} /> },
  { pattern: "/tags/:tag", title: "Tag", render: (parameters) => <TagPage tag={parameters.tag!} /> },
  { pattern: "/cart", title: "Cart", render: () => <CartPage /> },
  { pattern: "/signin", title: "Sign in", render: () => <SignInPage /> },
  { pattern: "/signup", title: "Sign up", render: () => <SignUpPage /> },
  { pattern: "/checkout/complete", title: "Thank you", roles: SIGNED_IN, render: (_, query) => <CheckoutCompletePage orderId={query.get("order_id") ?? ""} /> },
  { pattern: "/library", title: "Library", roles: SIGNED_IN, render: () => <LibraryPage /> },
  { pattern: "/free-music", title: "Free music", roles: SIGNED_IN, render: () => <InstallerPage /> },
  { pattern: "/artist", title: "Dashboard", roles: ["artist"], render: () => <ArtistDashboardPage /> },
  { pattern: "/artist/upload", title: "New release", roles: ["artist"], render: () => <UploadPage /> },
  { pattern: "/artist/releases/:id", title: "Edit release", roles: ["artist"], render: (parameters) => <ReleaseEditorPage releaseId={parameters.id!} /> },
  { pattern: "/artist/earnings", title: "Earnings", roles: ["artist"], render: () => <EarningsPage /> },
  { pattern: "/artist/payouts", title: "Payouts", roles: ["artist"], render: () => <PayoutsPage /> },
  { pattern: "/operator", title: "Operator", roles: ["admin"], render: () => <OperatorPage /> },
];

function RoutedPage() {
  const location = useLocation();
  const state = useSession();
  const mainRef = useRef<HTMLElement>(null);
  let match: { route: Route; parameters: Record<string, string> } | null = null;
  for (const route of routes) {
    const parameters = matchRoute(route.pattern, location.path);
    if (parameters !== null) {
      match = { route, parameters };
      break;
    }
  }

  useEffect(() => {
    document.title = `${match?.route.title ?? "Not found"} · Megabox`;
    // Move focus to the new page so keyboard and screen-reader users start at its content.
    if (document.activeElement !== document.body) mainRef.current?.focus({ preventScroll: true });
  }, [location.path]);

  let page: ComponentChildren;
  if (match === null) {
    page = (
      <section>
        <h1>Page not found</h1>
        <p>
          There is nothing at this address. <Link href="/">Browse new releases</Link>.
        </p>
      </section>
    );
  } else if (match.route.roles !== undefined && state.status === "restoring") {
    page = <p aria-live="polite">Loading…</p>;
  } else if (match.route.roles !== undefined && state.status !== "signed_in") {
    page = (
      <section>
        <h1>{match.route.title}</h1>
        <p>
          <Link href="/signin">Sign in</Link> to see this page.
        </p>
      </section>
    );
  } else if (match.route.roles !== undefined && state.status === "signed_in" && !match.route.roles.includes(state.me.role)) {
    page = (
      <section>
        <h1>{match.route.title}</h1>
        <p>This page is for {match.route.roles.join(" and ")} accounts.</p>
      </section>
    );
  } else {
    page = match.route.render(match.parameters, location.query);
  }

  return (
    <main id="main" ref={mainRef} tabIndex={-1}>
      {page}
    </main>
  );
}

export function App() {
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <RoutedPage />
      <Player />
    </>
  );
}
