#!/usr/bin/env node
// The runner is TypeScript; tsx's loader runs it without a build step.
// Resolved from this file's URL, so it works from any working directory.
import { register } from "tsx/esm/api";

register();
await import(new URL("./cli.ts", import.meta.url).href);
