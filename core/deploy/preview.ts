/**
 * Pull request previews: a green build of an open pull request deploys its `sparki-static` output
 * to a stage of its own, `pr-<number>`, so it is served at `pr-<number>--<project>` on the sites
 * origin (server/sites/hosts.ts) and never touches another stage. The name is made only from the
 * pull request's number, never from its branch or title (which its author chooses), and the
 * `pr-<digits>` names are kept from sparki.yml, so no stage of a repository can take a preview's
 * place or a preview another stage's.
 */

/** Stage names of this form belong to previews; sparki.yml may not name a stage so. */
export const PREVIEW_STAGE = /^pr-[1-9][0-9]{0,15}$/;

/** The preview stage of pull request `n`; throws for anything but a positive safe integer. */
export function previewStage(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a pull request number: ${n}`);
  return `pr-${n}`;
}

/** The pull request a preview stage belongs to, or null for any other stage name. */
export function previewNumber(stage: string): number | null {
  if (!PREVIEW_STAGE.test(stage)) return null;
  const n = Number(stage.slice(3));
  return Number.isSafeInteger(n) ? n : null;
}

/** The GitHub environment a preview is reported under (transient: it goes when the pull request closes). */
export function previewEnvironment(n: number): string {
  return `preview/${previewStage(n)}`;
}
