import { AppBuilder, type DirContext } from "./app-builder.ts";
import { isTable, stringMap } from "./manifest.ts";
import { choosePackageManager, pmRunner } from "./node-package-manager.ts";
import { firstVersion, toolVersions } from "./runtime-version.ts";

/** Detects Composer projects: Laravel, Symfony; other packages are libraries (null). */
export async function detectPhp(ctx: DirContext): Promise<AppBuilder | null> {
  const composer = await ctx.readJson("composer.json");
  if (!isTable(composer)) return null;
  const file = ctx.path("composer.json");
  const b = new AppBuilder(ctx.dir);
  b.name = typeof composer.name === "string" ? composer.name : null;
  b.note("project", file, "composer.json marks a PHP project");
  b.setLanguage("php", file, "composer.json is Composer's manifest");
  b.packageManager = "composer";
  b.lockfile = ctx.has("composer.lock") ? ctx.path("composer.lock") : null;
  b.note("packageManager", file, "Composer");
  const require = stringMap(composer.require);
  const deps = new Set([...Object.keys(require), ...Object.keys(stringMap(composer["require-dev"]))]);

  const version = await firstVersion([
    () => toolVersions(ctx, ["php"]),
    async () => (require.php ? { version: require.php, file, reason: `composer.json requires php ${require.php}` } : null),
  ]);
  if (version) b.setRuntime("php", version.version, version.file, version.reason);
  else b.setRuntime("php", null, file, "no PHP version required");

  b.setCommand(
    "install",
    "composer install --no-interaction --prefer-dist",
    b.lockfile ?? file,
    b.lockfile ? "composer.lock pins the packages" : "no composer.lock",
  );
  if (deps.has("laravel/pint")) b.setCommand("lint", "vendor/bin/pint --test", file, "laravel/pint is a dependency");
  else if (deps.has("friendsofphp/php-cs-fixer")) b.setCommand("lint", "vendor/bin/php-cs-fixer check", file, "php-cs-fixer is a dependency");
  else b.setCommand("lint", null, file, "no PHP linter among the dependencies");

  const laravel = deps.has("laravel/framework");
  if (laravel) b.setCommand("test", "php artisan test", file, "Laravel's test runner");
  else if (deps.has("phpunit/phpunit")) b.setCommand("test", "vendor/bin/phpunit", file, "phpunit is a dependency");
  else b.setCommand("test", null, file, "no test framework");

  // Laravel and Symfony ship front-end assets built by Vite/Encore from the same folder.
  const pkg = await ctx.readJson("package.json");
  if (isTable(pkg) && stringMap(pkg.scripts).build) {
    const scratch = new AppBuilder(ctx.dir);
    const runner = pmRunner(await choosePackageManager(ctx, pkg, scratch));
    b.setCommand("build", `${runner.install} && ${runner.run("build")}`, ctx.path("package.json"), "front-end assets are built from package.json");
  } else b.setCommand("build", null, file, "no asset build");

  if (laravel) {
    b.setFramework("laravel", file, "requires laravel/framework");
    if (ctx.has("artisan")) b.note("framework", ctx.path("artisan"), "artisan confirms Laravel");
    b.confidence = ctx.has("artisan") ? 0.95 : 0.9;
    b.setCommand("start", "php artisan serve --host=0.0.0.0", file, "Laravel's own server");
    b.setOutputDir(null, file, "a Laravel app is a server");
  } else if (deps.has("symfony/framework-bundle")) {
    b.setFramework("symfony", file, "requires symfony/framework-bundle");
    b.confidence = 0.9;
    b.setCommand("start", "php -S 0.0.0.0:8000 -t public", file, "PHP's built-in server on public/");
    b.setOutputDir(null, file, "a Symfony app is a server");
  } else {
    b.setFramework(null, file, composer.type === "project" ? "a Composer project without a known framework" : "a Composer package with no framework");
    b.confidence = 0.6;
    b.setCommand("start", null, file, "nothing to start");
    b.setOutputDir(null, file, "no deployable output directory");
  }
  return b;
}
