/**
 * Child process of test/integration/dataverse/entraSignIn.test.ts: reads the Functions app's settings
 * from its environment exactly as functions/index.ts does (its own process, so NODE_EXTRA_CA_CERTS can
 * make Node trust the fake Entra authority's certificate), then calls WhoAmI twice and prints the answers.
 */
import { loadConfig } from "../../functions/config";
import { DataverseClient } from "../../src/dataverse";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dataverse = new DataverseClient({ url: config.dataverseUrl, auth: config.dataverseAuth, retry: { maxAttempts: 1 } });
  const first = await dataverse.whoAmI();
  const second = await dataverse.whoAmI();
  process.stdout.write(JSON.stringify({ kind: config.dataverseAuth.kind, first, second }));
}

main().catch((error: unknown) => {
  process.stdout.write(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  process.exitCode = 1;
});
