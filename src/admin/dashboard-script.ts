/**
 * The dashboard's browser script, served inline with the page's CSP nonce.
 * Its source is TypeScript in src/admin/ui/ (main.ts is the entry), checked
 * against the admin API's own types: it calls the API through the shared
 * typed client (src/admin/client.ts, `hc<AdminApi>`, the CLI's too).
 *
 * How it gets here: scripts/build-dashboard.mjs bundles src/admin/ui with
 * esbuild into one script and writes it as an ES module exporting that
 * script as a string (dist/dashboard/script.js); this module imports it, so
 * it is part of the worker's one bundle like any other module. The build
 * runs as wrangler's custom build (`[build]` in wrangler.toml: before
 * `wrangler deploy`, `wrangler deploy --dry-run` and `wrangler dev`, so
 * `npm start`, `npm run check` and `npm run deploy`, and again while
 * `wrangler dev` runs when src/admin/ui changes) and in the workers test
 * project's global setup (test/global-setup.ts) for @cloudflare/vitest-plugin,
 * which does not run custom builds. The generated file is not committed.
 */
import script from "../../dist/dashboard/script.js";

export const DASHBOARD_SCRIPT: string = script;
