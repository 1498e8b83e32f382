/**
 * A separate OS process that rotates the connector's refresh token (runTokenActor) with its own skewed
 * clock. Environment: DATAVERSE_URL, DATAVERSE_TOKEN, CONNECTION_ID, CLOCK_OFFSET_MS, SEED, ROTATIONS,
 * SAVE_RETRY_AFTER_CAP_MS, EXCHANGE_TIMEOUT_MS. Prints one JSON line with the actor's result.
 */
import { redact } from "../../../src/shared/redact";
import { runTokenActor } from "./tokenActors";

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

runTokenActor({
  dataverseUrl: env("DATAVERSE_URL"),
  dataverseToken: env("DATAVERSE_TOKEN"),
  connectionId: env("CONNECTION_ID"),
  clockOffsetMs: Number(env("CLOCK_OFFSET_MS")),
  seed: Number(env("SEED")),
  rotations: Number(env("ROTATIONS")),
  saveRetryAfterCapMs: Number(env("SAVE_RETRY_AFTER_CAP_MS")),
  exchangeTimeoutMs: Number(env("EXCHANGE_TIMEOUT_MS")),
})
  .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
  .catch((error: unknown) => {
    process.stderr.write(`${redact(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(1);
  });
