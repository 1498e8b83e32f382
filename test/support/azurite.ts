/**
 * Azurite's queue service (npm package `azurite`, offline, in memory) on a free 127.0.0.1 port, for tests
 * that need the real Azure Storage queue protocol. Its well-known development account and key are public.
 * https://learn.microsoft.com/azure/storage/common/storage-use-azurite#connection-strings
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`azurite-queue exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error("azurite-queue did not start in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface AzuriteQueue {
  connectionString: string;
  close(): Promise<void>;
}

export async function startAzuriteQueue(): Promise<AzuriteQueue> {
  const port = await freePort();
  const bin = path.join(__dirname, "..", "..", "node_modules", ".bin", "azurite-queue");
  const child = spawn(
    bin,
    [
      "--inMemoryPersistence",
      "--silent",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--queueHost",
      "127.0.0.1",
      "--queuePort",
      String(port),
    ],
    { stdio: "ignore" },
  );
  await waitForPort(port, child);
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};QueueEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
