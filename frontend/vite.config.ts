//! Build and dev-server settings: Preact JSX through Vite's own transformer (no framework plugin),
//! output in dist/ (served by `megabox serve`), and a dev proxy to a local `megabox serve`.
import { defineConfig } from "vitest/config";

const developmentServer = process.env.MEGABOX_DEV_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", sourcemap: true },
  server: {
    proxy: {
      "/api": developmentServer,
      "/healthz": developmentServer,
    },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
