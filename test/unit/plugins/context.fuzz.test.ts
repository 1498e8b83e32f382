/** Property-based fuzzing of the webhook parser: thousands of inputs, never a crash or a hang, always a clear typed error. */
import fc from "fast-check";

import { parseRemoteExecutionContext, parseWebhookBody, WebhookPayloadError } from "../../../plugins/context";
import { subscriptionUpdateContext, syncAccountsContext } from "../../support/pluginFixtures";

function outcome(run: () => unknown): "ok" | "refused" {
  try {
    run();
    return "ok";
  } catch (error) {
    if (!(error instanceof WebhookPayloadError)) throw error;
    expect(error.message).toMatch(/^(Invalid webhook payload|Parameter )/);
    expect(error.statusCode).toBe(400);
    return "refused";
  }
}

describe("webhook parser fuzzing", () => {
  it("never crashes on arbitrary text bodies", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        outcome(() => parseWebhookBody(text));
      }),
      { numRuns: 2000, seed: 4242 },
    );
  });

  it("never crashes on arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        outcome(() => parseWebhookBody(JSON.stringify(value)));
      }),
      { numRuns: 2000, seed: 4243 },
    );
  });

  it("never crashes when valid contexts get fields replaced by arbitrary values", () => {
    const bases = [syncAccountsContext({ DryRun: true }), subscriptionUpdateContext({ w365_requestedquantity: 4 })];
    const fields = [...new Set(bases.flatMap((b) => Object.keys(b)))];
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.array(fc.tuple(fc.constantFrom(...fields, "InputParameters.0.value", "InputParameters.0.key"), fc.jsonValue({ maxDepth: 4 })), {
          maxLength: 4,
        }),
        (base, mutations) => {
          const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
          for (const [path, value] of mutations) {
            const parts = path.split(".");
            if (parts.length === 1) copy[path] = value;
            else {
              const list = copy.InputParameters;
              if (Array.isArray(list) && list[0] && typeof list[0] === "object")
                (list[0] as Record<string, unknown>)[parts[2] as string] = value;
            }
          }
          outcome(() => parseRemoteExecutionContext(copy));
        },
      ),
      { numRuns: 2000, seed: 4244 },
    );
  });

  it("parses every well-formed context it generates", () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    const guid = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join("-"));
    fc.assert(
      fc.property(guid, fc.integer({ min: 0, max: 8 }), fc.boolean(), fc.string({ maxLength: 30 }), (id, depth, dryRun, requestId) => {
        const raw = syncAccountsContext({ DryRun: dryRun, RequestId: requestId }, { id, depth });
        const ctx = parseRemoteExecutionContext(raw);
        expect(ctx.primaryEntityId).toBe(id);
        expect(ctx.inputParameters.DryRun).toBe(dryRun);
      }),
      { numRuns: 500, seed: 4245 },
    );
  });
});
