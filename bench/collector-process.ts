/**
 * The OTLP receiver (test/fakes/otlp-receiver.ts) in a process of its own, started at the lowest
 * CPU priority: the stand-in for a collector on another host, as production has, so that parsing
 * the spans does not take CPU from the stacks the bench measures on this 2-core machine.
 * Prints `listening URL` once ready; answers `GET /count` with the spans received so far.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { OtlpReceiver } from "../test/fakes/otlp-receiver.js";

const receiver = new OtlpReceiver();
await receiver.start();
const control = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/count") return void res.writeHead(200, { "content-type": "text/plain" }).end(String(receiver.spans.length));
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
console.log(`listening ${receiver.url} http://127.0.0.1:${(control.address() as AddressInfo).port}`);
// The bench closes stdin when it is done; the process ends with it.
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
