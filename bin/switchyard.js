#!/usr/bin/env node
// The `switchyard` CLI (npx switchyard …): runs the TypeScript sources through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../scripts/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
