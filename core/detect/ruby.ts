import { AppBuilder, type DirContext } from "./app-builder.ts";
import { procfileWeb } from "./manifest.ts";
import { firstVersion, toolVersions, versionFile, versionFromText } from "./runtime-version.ts";

/** Gem names from a Gemfile (`gem "rails", "~> 7.1"`) and the lockfile's specs. */
async function gems(ctx: DirContext): Promise<Set<string>> {
  const out = new Set<string>();
  const gemfile = (await ctx.read("Gemfile")) ?? "";
  for (const m of gemfile.matchAll(/^\s*gem\s+["']([\w-]+)["']/gm)) if (m[1]) out.add(m[1]);
  const lock = (await ctx.read("Gemfile.lock")) ?? "";
  for (const m of lock.matchAll(/^ {4}([\w-]+) \(/gm)) if (m[1]) out.add(m[1]);
  return out;
}

/** Detects Ruby projects (Rails, Sinatra, Jekyll), and Gemfile-less Jekyll sites. */
export async function detectRuby(ctx: DirContext): Promise<AppBuilder | null> {
  const hasGemfile = ctx.has("Gemfile");
  const jekyllConfig = ctx.has("_config.yml") && (ctx.hasDir("_posts") || ctx.hasDir("_layouts"));
  if (!hasGemfile && !jekyllConfig) return null;
  const b = new AppBuilder(ctx.dir);
  const manifest = ctx.path(hasGemfile ? "Gemfile" : "_config.yml");
  b.note("project", manifest, hasGemfile ? "Gemfile marks a Ruby project" : "_config.yml with _posts/_layouts is a Jekyll site");
  b.setLanguage("ruby", manifest, hasGemfile ? "Gemfile is Bundler's manifest" : "Jekyll is a Ruby tool");
  const set = await gems(ctx);
  const exec = hasGemfile ? "bundle exec " : "";
  if (hasGemfile) {
    b.packageManager = "bundler";
    b.lockfile = ctx.has("Gemfile.lock") ? ctx.path("Gemfile.lock") : null;
    b.note("packageManager", manifest, "Gemfile is installed with Bundler");
    b.setCommand("install", "bundle install", b.lockfile ?? manifest, b.lockfile ? "Gemfile.lock pins the gems" : "Gemfile without a lockfile");
  } else {
    b.setCommand("install", null, manifest, "no Gemfile: Jekyll comes from the build image");
  }
  const version = await firstVersion([
    () => versionFile(ctx, ".ruby-version"),
    () => toolVersions(ctx, ["ruby"]),
    () => versionFromText(ctx, "Gemfile", /^\s*ruby\s+["']([\d.]+)["']/m, (v) => `Gemfile requires ruby ${v}`),
  ]);
  // rbenv/rvm accept "ruby-3.3.4" in .ruby-version; the version is what follows.
  if (version) b.setRuntime("ruby", version.version.replace(/^ruby-/, ""), version.file, version.reason);
  else b.setRuntime("ruby", null, manifest, "no Ruby version pinned");

  if (set.has("rubocop") || set.has("rubocop-rails-omakase")) b.setCommand("lint", `${exec}rubocop`, manifest, "rubocop is in the Gemfile");
  else b.setCommand("lint", null, manifest, "no rubocop gem");
  const rspec = set.has("rspec-rails") || set.has("rspec");
  const web = await procfileWeb(ctx);
  // A Rakefile's test task is how a Ruby project says "run my tests" (a Jekyll site's html-proofer).
  const rakefile = (await ctx.read("Rakefile")) ?? "";
  const rakeTest = hasGemfile && /^\s*(task\s*\(?\s*:test\b|task\s*\(?\s*["']test["']|Rake::TestTask\.new)/m.test(rakefile);

  if (set.has("rails") || set.has("railties") || ctx.has("config/application.rb")) {
    b.setFramework("rails", manifest, set.has("rails") ? "the rails gem is in the Gemfile" : "config/application.rb is a Rails app");
    if (ctx.has("config/application.rb")) b.note("framework", ctx.path("config/application.rb"), "config/application.rb confirms Rails");
    b.confidence = 0.95;
    b.setCommand("test", rspec ? "bundle exec rspec" : "bin/rails test", manifest, rspec ? "rspec is in the Gemfile" : "Rails' built-in test runner");
    b.setCommand("build", "bin/rails assets:precompile", manifest, "precompiles assets for production");
    if (web) b.setCommand("start", web, ctx.path("Procfile"), "Procfile web process");
    else b.setCommand("start", "bin/rails server -b 0.0.0.0", manifest, "Rails' own server (Puma)");
    b.setOutputDir(null, manifest, "a Rails app is a server");
    return b;
  }
  if (set.has("jekyll") || jekyllConfig) {
    b.setFramework(
      "jekyll",
      set.has("jekyll") ? manifest : ctx.path("_config.yml"),
      set.has("jekyll") ? "the jekyll gem is in the Gemfile" : "_config.yml with _posts/_layouts is a Jekyll site",
    );
    if (hasGemfile && ctx.has("_config.yml")) b.note("framework", ctx.path("_config.yml"), "_config.yml is Jekyll's config");
    b.confidence = hasGemfile && ctx.has("_config.yml") ? 0.95 : 0.85;
    if (rakeTest) b.setCommand("test", "bundle exec rake test", ctx.path("Rakefile"), "the Rakefile defines a test task");
    else b.setCommand("test", null, manifest, "a static site has no test suite");
    b.setCommand("build", `${exec}jekyll build`, manifest, "Jekyll renders the site");
    b.setCommand("start", null, manifest, "a static site is served from its output directory");
    b.setOutputDir("_site", ctx.path(ctx.has("_config.yml") ? "_config.yml" : "Gemfile"), "Jekyll writes the site to _site/");
    return b;
  }
  if (rspec) b.setCommand("test", "bundle exec rspec", manifest, "rspec is in the Gemfile");
  else if (rakeTest) b.setCommand("test", "bundle exec rake test", ctx.path("Rakefile"), "the Rakefile defines a test task");
  else b.setCommand("test", null, manifest, "no test framework gem");
  b.setCommand("build", null, manifest, "Ruby apps have no build step");
  if (set.has("sinatra")) {
    b.setFramework("sinatra", manifest, "the sinatra gem is in the Gemfile");
    b.confidence = 0.9;
    if (web) b.setCommand("start", web, ctx.path("Procfile"), "Procfile web process");
    else if (ctx.has("config.ru")) b.setCommand("start", "bundle exec rackup --host 0.0.0.0", ctx.path("config.ru"), "config.ru is the Rack entry point");
    else b.setCommand("start", "bundle exec ruby app.rb", manifest, "Sinatra's classic app.rb entry");
    b.setOutputDir(null, manifest, "a Sinatra app is a server");
    return b;
  }
  b.setFramework(
    ctx.has("config.ru") ? "ruby" : null,
    manifest,
    ctx.has("config.ru") ? "a Rack app without a known framework" : "a gem or script with no web framework",
  );
  b.confidence = 0.6;
  b.setCommand("start", web, web ? ctx.path("Procfile") : manifest, web ? "Procfile web process" : "nothing to start");
  b.setOutputDir(null, manifest, "no deployable output directory");
  return b;
}
