import { Command, CommanderError, InvalidArgumentError, Option } from "commander";

import { parseNcrontab } from "../src/shared/cron";
import { ConfigError, ConnectorError, ensureError, ValidationError } from "../src/shared/errors";
import { isGuid } from "../src/shared/guid";
import { redact } from "../src/shared/redact";
import { SYNC_KINDS } from "../src/sync/vocabulary";
import { createOutput, type Output } from "./output";

/** Exit codes (README.md): 0 success, 1 the work failed, 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port number (0-65535; 0 means any free port).`);
  return Number(value);
}

export function parseCount(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range (${min}-${max}).`);
    return n;
  };
}

export function parseGuid(value: string): string {
  if (!isGuid(value))
    throw new InvalidArgumentError(`"${value}" is not a record id (a GUID such as 16fd2706-8baf-433b-82eb-8c7fada847da).`);
  return value.trim().replace(/[{}]/g, "");
}

export function parseNonEmpty(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("the value is empty.");
  return value.trim();
}

export function parseHttpUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) throw new InvalidArgumentError(`"${value}" is not an http(s) URL.`);
  return value;
}

/** NCRONTAB (six fields, as Azure Functions timers use): a typo must fail here, not silently never fire. */
export function parseSchedule(value: string): string {
  try {
    parseNcrontab(value);
  } catch (error) {
    throw new InvalidArgumentError(
      `"${value}" is not an NCRONTAB schedule (six fields: second minute hour day month day-of-week, e.g. "0 0 2 * * *"): ${ensureError(error).message}`,
    );
  }
  return value;
}

function buildProgram(out: Output, setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name("streamone-ion")
    .description("TD SYNNEX StreamOne Ion connector for Work 365: demo, sandbox, verify, sync, pack and deploy.")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => out.raw(s), writeErr: (s) => out.rawErr(s) })
    .exitOverride();

  const dataverseOption = () =>
    new Option(
      "--dataverse <url>",
      "Dataverse environment root (default: $DATAVERSE_URL); auth from DATAVERSE_TOKEN or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET",
    );
  const jsonOption = () => new Option("--json", "print machine-readable JSON instead of human text");
  const latencyOption = () =>
    new Option(
      "--latency <mode>",
      "latency model of the stand-ins: off (answer at once) or cloud (each request costs what it would in a tenant; sandbox/latency.ts)",
    )
      .choices(["off", "cloud"])
      .default("off");

  program
    .command("demo")
    .description(
      "the main job on the embedded sandbox: import the solution, create a connector, verify, sync accounts and subscriptions, send one change to Ion and bring it back, then report",
    )
    .option("--customers <n>", "Ion customers to simulate", parseCount(1, 20000), 40)
    .option("--subscriptions-per-customer <n>", "subscriptions per customer", parseCount(0, 50), 3)
    .option("--seed <n>", "seed for the simulated data", parseCount(0, 2 ** 31), 7)
    .addOption(latencyOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const { runDemoCommand } = await import("./commands/demo");
      setExit(await runDemoCommand(opts, out));
    });

  program
    .command("sandbox")
    .description(
      "start the Ion simulator, the Dataverse emulator (solution imported), the local functions host and the admin page; prints one JSON line; runs until SIGINT/SIGTERM",
    )
    .option("--ion-port <n>", "Ion simulator port (0 = any)", parsePort, 0)
    .option("--dataverse-port <n>", "Dataverse emulator port (0 = any)", parsePort, 0)
    .option("--functions-port <n>", "local functions host port (0 = any)", parsePort, 0)
    .option("--admin-port <n>", "Admin Hub page port (0 = any)", parsePort, 0)
    .option("--data <dir>", "keep the emulator's SQLite database in this folder (default: in memory)")
    .option("--customers <n>", "Ion customers to simulate", parseCount(0, 20000), 25)
    .option("--subscriptions-per-customer <n>", "subscriptions per customer", parseCount(0, 50), 3)
    .option("--seed <n>", "seed for the simulated data", parseCount(0, 2 ** 31), 1)
    .option("--no-ion", "do not start the Ion simulator (point connectors at a real Ion host)")
    .option("--service-protection", "enforce Dataverse service protection limits in the emulator", false)
    .addOption(latencyOption())
    .action(async (opts) => {
      const { runSandboxCommand } = await import("./commands/sandbox");
      setExit(await runSandboxCommand(opts, out));
    });

  program
    .command("verify")
    .description("Verify Connectivity for one connector (refresh token, Account ID, API Key/Secret)")
    .requiredOption("--connection <id-or-name>", "the connector (w365_providerconnection id or name)", parseNonEmpty)
    .addOption(dataverseOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const { runVerifyCommand } = await import("./commands/verify");
      setExit(await runVerifyCommand(opts, out));
    });

  program
    .command("sync")
    .description("one sync run: accounts, subscriptions, outbound (Work 365 → Ion orders) or all; records a w365_syncrun")
    .argument("<kind>", "accounts | subscriptions | outbound | all", (v: string) => {
      if (!(SYNC_KINDS as readonly string[]).includes(v))
        throw new InvalidArgumentError(`"${v}" is not a sync kind; use accounts, subscriptions, outbound or all.`);
      return v;
    })
    .requiredOption("--connection <id-or-name>", "the connector (w365_providerconnection id or name)", parseNonEmpty)
    .option("--dry-run", "compute the whole plan and write nothing but the run's report", false)
    .option("--provider-account <id>", "subscriptions only: limit to one provider account", parseGuid)
    .addOption(dataverseOption())
    .addOption(jsonOption())
    .action(async (kind: string, opts) => {
      if (opts.providerAccount && kind !== "subscriptions")
        throw new ValidationError(`--provider-account applies to "sync subscriptions" only, not "sync ${kind}".`);
      const { runSyncCommand } = await import("./commands/sync");
      setExit(await runSyncCommand(kind as "accounts", opts, out));
    });

  program
    .command("pack")
    .description("build the solution zip(s) into dist/")
    .option("--managed", "also build the managed zip", false)
    .option("--out <dir>", "output folder", "dist")
    .addOption(jsonOption())
    .action(async (opts) => {
      const { runPackCommand } = await import("./commands/pack");
      setExit(await runPackCommand(opts, out));
    });

  program
    .command("deploy")
    .description("import the solution into an environment through the Web API, publish, and set its environment variables")
    .requiredOption("--environment <url>", "the target environment root, e.g. https://contoso.crm.dynamics.com")
    .option("--zip <path>", "solution zip to import (default: pack now)")
    .option("--managed", "import the managed solution", false)
    .option(
      "--functions-url <url>",
      "base URL of the deployed functions app (sets w365_FunctionsBaseUrl and the webhook endpoint)",
      parseHttpUrl,
    )
    .option("--sync-schedule <ncrontab>", "default sync schedule (w365_DefaultSyncSchedule)", parseSchedule)
    .option(
      "--use-pac",
      "import with the Power Platform CLI (pac) when it is on PATH (pac takes the client secret on its command line: use on a single-user build agent)",
      false,
    )
    .addOption(jsonOption())
    .action(async (opts) => {
      const { runDeployCommand } = await import("./commands/deploy");
      setExit(await runDeployCommand(opts, out));
    });

  program
    .command("register-webhook")
    .description(
      "create or update the webhook endpoint and its steps in an environment (after an import through the maker portal or a pipeline); the key comes from $FUNCTIONS_WEBHOOK_KEY",
    )
    .requiredOption("--environment <url>", "the target environment root, e.g. https://contoso.crm.dynamics.com")
    .requiredOption("--functions-url <url>", "base URL of the deployed functions app", parseHttpUrl)
    .addOption(jsonOption())
    .action(async (opts) => {
      const { runRegisterWebhookCommand } = await import("./commands/deploy");
      setExit(await runRegisterWebhookCommand(opts, out));
    });

  return program;
}

export async function main(argv: string[], out: Output = createOutput()): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(out, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      if (
        error.exitCode === 0 ||
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.help" ||
        error.code === "commander.version"
      )
        return EXIT_OK;
      return EXIT_USAGE;
    }
    const err = ensureError(error);
    // Bad flags or missing settings are usage errors (exit 2); the message says what to set.
    if (err instanceof ValidationError || err instanceof ConfigError) {
      out.error(redact(err.message));
      return EXIT_USAGE;
    }
    out.error(redact(err instanceof ConnectorError ? err.userMessage : err.message));
    return EXIT_FAILED;
  }
}
