/**
 * Starts the Dataverse emulator alone and prints one JSON line with its URL and tokens.
 *
 *   npm run build && node build/sandbox/dataverse/main.js [--port N] [--db FILE] [--solution ZIP | --product-solution] [--protect] [--env NAME=VALUE ...]
 *
 * Runs until SIGINT/SIGTERM. See sandbox/dataverse/README.md.
 */
import { readFile } from "node:fs/promises";

import { createLogger } from "../../src/shared/logger";
import { startDataverseEmulator } from "./index";

export interface MainArgs {
  port: number;
  dbPath: string;
  solutionZip?: string;
  productSolution: boolean;
  protect: boolean;
  env: [string, string][];
}

export function parseArgs(argv: string[]): MainArgs {
  const args: MainArgs = { port: 0, dbPath: ":memory:", productSolution: false, protect: false, env: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--port") args.port = Number(value());
    else if (a === "--db") args.dbPath = value();
    else if (a === "--solution") args.solutionZip = value();
    else if (a === "--product-solution") args.productSolution = true;
    else if (a === "--protect") args.protect = true;
    else if (a === "--env") {
      const [k, ...rest] = value().split("=");
      if (!k || rest.length === 0) throw new Error("--env expects NAME=VALUE");
      args.env.push([k, rest.join("=")]);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0) throw new Error("--port must be a port number (0 = any free port)");
  return args;
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const emu = await startDataverseEmulator({
    port: args.port,
    dbPath: args.dbPath,
    serviceProtection: { enabled: args.protect },
    logger: createLogger({ level: "warn" }),
  });
  if (args.solutionZip) await emu.importSolution(await readFile(args.solutionZip));
  if (args.productSolution) {
    const { readSolutionSource, writeSolutionZip } = await import("../../src/solution/io");
    await emu.importSolution(await writeSolutionZip(await readSolutionSource(), { managed: false }));
  }
  for (const [k, v] of args.env) emu.setEnvironmentVariable(k, v);
  process.stdout.write(
    JSON.stringify({
      url: emu.url,
      webApi: `${emu.url}/api/data/v9.2/`,
      integrationToken: emu.integrationToken,
      adminToken: emu.adminToken,
    }) + "\n",
  );
  const stop = () => void emu.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
