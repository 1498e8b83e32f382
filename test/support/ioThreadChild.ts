/**
 * A process that sends one Ion request on the I/O thread and then has nothing left to do: it must exit by
 * itself (io-thread.test.ts), as a CLI run does once its sync is over.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { IonTransport } from "../../src/ion/transport";

async function main(): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  const answer = await new IonTransport().send({ method: "GET", url, endpoint: "GET /x", headers: {}, kind: "v3" }, 1);
  process.stdout.write(`answered ${answer.status}\n`);
  server.closeAllConnections();
  server.close();
}

void main();
