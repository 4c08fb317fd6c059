/**
 * Why a pipeline has no jobs, in the words `sparki detect` uses: the detector's reason when it
 * has one (a package.json that does not parse), else what left every command out. The plan job
 * fails with it, and `sparki run` exits with it, rather than passing with nothing run.
 */
export function nothingToRunReason(detectorReason: string | null, hasSparkiYml: boolean): string {
  if (detectorReason) return detectorReason;
  return hasSparkiYml
    ? "sparki.yml and the detection leave every command (install, lint, test, build) empty; set one in sparki.yml"
    : "the detector found no command to run (install, lint, test, build); add a sparki.yml that sets one (`sparki init` writes one)";
}
