import { AppBuilder, type DirContext } from "./app-builder.ts";
import type { DetectedFramework } from "./frameworks.ts";
import { firstVersion, toolVersions, versionFile, versionFromText } from "./runtime-version.ts";

const JVM_FRAMEWORKS: ReadonlyArray<readonly [DetectedFramework, RegExp]> = [
  ["spring-boot", /spring-boot|org\.springframework\.boot/],
  ["quarkus", /io\.quarkus/],
  ["micronaut", /io\.micronaut/],
  ["ktor", /io\.ktor/],
];

/** The project's own artifactId and version from a pom, skipping the parent block. */
function pomCoordinates(pom: string): { artifactId: string | null; version: string | null } {
  const own = pom
    .replace(/<parent>[\s\S]*?<\/parent>/, "")
    .replace(/<dependencies>[\s\S]*<\/dependencies>/, "")
    .replace(/<build>[\s\S]*<\/build>/, "");
  return {
    artifactId: /<artifactId>([^<]+)<\/artifactId>/.exec(own)?.[1] ?? null,
    version: /<version>([^<$]+)<\/version>/.exec(own)?.[1] ?? null,
  };
}

/** Detects Maven and Gradle builds: Spring Boot, Quarkus, Micronaut, Ktor; other builds are libraries. */
export async function detectJvm(ctx: DirContext): Promise<AppBuilder | null> {
  const manifest = ctx.first(["pom.xml", "build.gradle.kts", "build.gradle"]);
  if (!manifest) return null;
  const file = ctx.path(manifest);
  const text = (await ctx.read(manifest)) ?? "";
  const maven = manifest === "pom.xml";
  const b = new AppBuilder(ctx.dir);
  b.note("project", file, `${manifest} is a ${maven ? "Maven" : "Gradle"} build`);
  const kotlin = /kotlin\(|org\.jetbrains\.kotlin|kotlin-maven-plugin/.test(text) || ctx.hasDir("src/main/kotlin");
  b.setLanguage(kotlin ? "kotlin" : "java", file, kotlin ? "the build applies the Kotlin plugin" : "a Java build");
  b.packageManager = maven ? "maven" : "gradle";
  b.lockfile = file;
  b.note("packageManager", file, maven ? "pom.xml: Maven" : `${manifest}: Gradle`);

  const version = await firstVersion([
    () => versionFile(ctx, ".java-version"),
    () => versionFromText(ctx, ".sdkmanrc", /^java=(\d+)/m, (v) => `.sdkmanrc pins java ${v}`),
    () => toolVersions(ctx, ["java"]),
    () => versionFromText(ctx, manifest, /<java\.version>([^<]+)</, (v) => `java.version is ${v}`),
    () => versionFromText(ctx, manifest, /<maven\.compiler\.(?:release|source)>([^<]+)</, (v) => `maven.compiler targets ${v}`),
    () => versionFromText(ctx, manifest, /JavaLanguageVersion\.of\((\d+)\)/, (v) => `the Java toolchain is ${v}`),
    () => versionFromText(ctx, manifest, /(?:sourceCompatibility\s*=\s*['"]?|JavaVersion\.VERSION_)(\d+)/, (v) => `sourceCompatibility ${v}`),
  ]);
  if (version) b.setRuntime("java", version.version, version.file, version.reason);
  else b.setRuntime("java", null, file, "no Java version pinned");

  const wrapper = maven ? (ctx.has("mvnw") ? "./mvnw" : "mvn") : ctx.has("gradlew") ? "./gradlew" : "gradle";
  const why = wrapper.startsWith("./") ? `${wrapper.slice(2)} wrapper is committed` : "no wrapper committed";
  if (maven) {
    b.setCommand("install", `${wrapper} -B dependency:go-offline`, file, `${why}; resolves dependencies into the local repository`);
    b.setCommand(
      "lint",
      /spotless/.test(text) ? `${wrapper} -B spotless:check` : null,
      file,
      /spotless/.test(text) ? "spotless plugin configured" : "no lint plugin configured",
    );
    b.setCommand("test", `${wrapper} -B test`, file, "Surefire runs the tests");
    b.setCommand("build", `${wrapper} -B package -DskipTests`, file, "packages the jar");
  } else {
    b.setCommand("install", `${wrapper} dependencies`, file, `${why}; resolves dependencies`);
    b.setCommand(
      "lint",
      /spotless/.test(text) ? `${wrapper} spotlessCheck` : null,
      file,
      /spotless/.test(text) ? "spotless plugin configured" : "no lint plugin configured",
    );
    b.setCommand("test", `${wrapper} test`, file, "Gradle's test task");
    b.setCommand("build", `${wrapper} build -x test`, file, "assembles the jar");
  }

  const fw = JVM_FRAMEWORKS.find(([, re]) => re.test(text));
  if (!fw) {
    b.setFramework(null, file, "no application framework: treated as a library");
    b.confidence = 0.6;
    b.setCommand("start", null, file, "a library has nothing to start");
    b.setOutputDir(null, file, "a library has no deployable output");
    return b;
  }
  b.setFramework(fw[0], file, `${manifest} uses ${fw[0]}`);
  b.confidence = 0.9;
  if (maven) {
    const { artifactId, version: v } = pomCoordinates(text);
    b.name = artifactId;
    const jar = artifactId && v ? `target/${artifactId}-${v}.jar` : "target/*.jar";
    b.setCommand("start", `java -jar ${jar}`, file, "runs the packaged jar");
  } else {
    const settings = (await ctx.read("settings.gradle.kts")) ?? (await ctx.read("settings.gradle")) ?? "";
    const name = /rootProject\.name\s*=\s*["']([^"']+)["']/.exec(settings)?.[1] ?? null;
    const v = /^version\s*=\s*["']([^"']+)["']/m.exec(text)?.[1] ?? null;
    b.name = name;
    if (name && v && fw[0] === "spring-boot")
      b.setCommand("start", `java -jar build/libs/${name}-${v}.jar`, file, "runs the boot jar (rootProject.name and version)");
    else b.setCommand("start", `${wrapper} run`, file, "runs the application through Gradle");
  }
  b.setOutputDir(null, file, `a ${fw[0]} app is a server`);
  return b;
}
