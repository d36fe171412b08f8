//! The state a page shows while the server does not offer its endpoints yet.
import { missingEndpoints } from "../api/availability";
import type { Feature } from "../api/features";

export function ComingSoon({ feature, heading = "h1" }: { feature: Feature; heading?: "h1" | "h2" }) {
  const Heading = heading;
  const missing = missingEndpoints(feature.endpoints);
  return (
    <section class="coming-soon" aria-labelledby="coming-soon-title">
      <Heading id="coming-soon-title">{feature.title}</Heading>
      <p class="status-pill">Coming soon</p>
      <p>{feature.summary}</p>
      <details>
        <summary>Why is this not here yet?</summary>
        <p>This page switches on when the server offers:</p>
        <ul>
          {missing.map(([method, path]) => (
            <li key={method + path}>
              <code>
                {method.toUpperCase()} {path}
              </code>
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}
