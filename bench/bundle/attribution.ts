/**
 * What each part of a bundle costs after gzip: the bundle gzipped whole, less the bundle gzipped
 * without that part's bytes. Which source each output byte came from is read from the source map's
 * mappings (https://tc39.es/ecma426/: per line, comma-separated segments of base64 VLQ fields, the
 * first two being the output column and the source index, both relative to the previous segment).
 * Bytes no mapping covers (esbuild's glue) belong to no part.
 */
import { gzipSync } from "node:zlib";

const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const digit = new Map([...base64].map((c, i) => [c, i]));

/** The first `count` fields of one segment. */
function fields(segment: string, count: number): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const d = digit.get(c);
    if (d === undefined) throw new Error(`source map: ${JSON.stringify(c)} is not base64`);
    value += (d & 31) << shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    if (out.length === count) break;
    value = 0;
    shift = 0;
  }
  return out;
}

/** For each output line, the part (index into `parts`) of each character, -1 for none. */
function owners(code: string, mappings: string, sources: string[], partOf: (source: string) => string, parts: string[]): Int32Array[] {
  const index = new Map<string, number>();
  const sourcePart = sources.map((source) => {
    const part = partOf(source);
    if (!index.has(part)) {
      index.set(part, parts.length);
      parts.push(part);
    }
    return index.get(part) ?? -1;
  });
  const lines = code.split("\n");
  const mapLines = mappings.split(";");
  let source = 0;
  return lines.map((line, i) => {
    const own = new Int32Array(line.length).fill(-1);
    let column = 0;
    const starts: [number, number][] = [];
    for (const segment of (mapLines[i] ?? "").split(",")) {
      if (segment === "") continue;
      const [dColumn = 0, dSource] = fields(segment, 2);
      column += dColumn;
      if (dSource === undefined) {
        starts.push([column, -1]);
        continue;
      }
      source += dSource;
      starts.push([column, sourcePart[source] ?? -1]);
    }
    starts.forEach(([from, part], s) => {
      own.fill(part, from, starts[s + 1]?.[0] ?? line.length);
    });
    return own;
  });
}

/** Each part's raw bytes in the output and marginal gzip bytes, biggest gzip first. */
export function marginalGzip(
  code: string,
  map: { mappings: string; sources: string[] },
  partOf: (source: string) => string,
): { part: string; raw: number; gzip: number }[] {
  const parts: string[] = [];
  const own = owners(code, map.mappings, map.sources, partOf, parts);
  const lines = code.split("\n");
  const whole = gzipSync(code).byteLength;
  return parts
    .map((part, p) => {
      let raw = 0;
      const without = lines
        .map((line, i) => {
          const mine = own[i];
          if (!mine) return line;
          let kept = "";
          for (let c = 0; c < line.length; c++) {
            if (mine[c] === p) raw++;
            else kept += line[c];
          }
          return kept;
        })
        .join("\n");
      return { part, raw, gzip: whole - gzipSync(without).byteLength };
    })
    .sort((a, b) => b.gzip - a.gzip);
}
