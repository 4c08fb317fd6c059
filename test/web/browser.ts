/**
 * The dashboard tests' browser: playwright-core driving the system's Chromium (Debian's
 * `chromium` package, installed by .ci/run; no browser download). Screenshots go to
 * .ci/out/screenshots, which CI keeps as artifacts (README, "Test").
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { projectRoot } from "../../dev/stack.js";

export const screenshotDir = join(projectRoot, ".ci", "out", "screenshots");
const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The Chromium to drive: CHROMIUM_PATH, or the distribution's. */
export function chromiumPath(): string {
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error("No Chromium found: install it (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH.");
  return found;
}

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  // Root (CI) cannot use Chromium's sandbox; the pages are our own.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage", ...extraArgs] });
}

/** Saves a full-page screenshot as <name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Every uncaught error and console error of a page, for the test to assert none happened. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  return errors;
}
