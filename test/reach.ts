/**
 * A step command that tries a TCP connection to each `host:port` and prints one line per target:
 * `REACHED host:port` or `REFUSED host:port` (refused, unreachable or 3 s without an answer). For
 * tests of what a sandboxed step's network lets it reach. Needs `node` on the step's PATH.
 */
const SCRIPT = `const net = require("net");
(async () => {
  for (const target of process.argv.slice(1)) {
    const at = target.lastIndexOf(":");
    await new Promise((done) => {
      const socket = net.connect({ host: target.slice(0, at), port: Number(target.slice(at + 1)), timeout: 3000 });
      socket.once("connect", () => { console.log("REACHED " + target); socket.destroy(); done(); });
      socket.once("timeout", () => { console.log("REFUSED " + target); socket.destroy(); done(); });
      socket.once("error", () => { console.log("REFUSED " + target); done(); });
    });
  }
})();`;

export function reachCommand(targets: readonly string[]): string {
  return `node -e '${SCRIPT}' ${targets.join(" ")}`;
}
