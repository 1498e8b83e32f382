// The refused-create message is the only channel from the engine's duplicate check to the mapping page (a webhook
// step cannot set a custom API's response), so what it writes must read back exactly, whatever the names hold.
import fc from "fast-check";

import { likelyDuplicatesMessage, parseLikelyDuplicates } from "../../../../src/sync/matching/duplicates";

const id = (n: number): string => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("likely duplicates message", () => {
  it("keeps the wording admins and flows read, and reads back names with parentheses, semicolons and colons", () => {
    const candidates = [
      { accountId: id(1), accountName: "Dare (US); Ltd", score: 0.87, reasons: ["name similar (0.93)", "domain matches (dare.example)"] },
      { accountId: id(2), accountName: "Dare: West", score: 0.5, reasons: ["name shortened"] },
    ];
    const message = likelyDuplicatesMessage("Dare: West (US)", candidates);
    expect(message).toBe(
      `No account was created: 2 existing account(s) look like Dare: West (US): Dare (US); Ltd (0.87: name similar (0.93), domain matches (dare.example)) [${id(1)}]; Dare: West (0.50: name shortened) [${id(2)}]. Map to one of them, or create anyway.`,
    );
    expect(parseLikelyDuplicates(message, "Dare: West (US)")).toStrictEqual(candidates);
  });

  it("reads nothing from other failures", () => {
    expect(parseLikelyDuplicates("Provider account x was not found.", "x")).toBeUndefined();
    expect(
      parseLikelyDuplicates("No account was created: 2 existing account(s) look like X: junk. Map to one of them, or create anyway.", "X"),
    ).toBeUndefined();
  });

  it("round-trips any names and reasons (property)", () => {
    const text = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() === s && s.length > 0);
    const reason = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes(", ") && s.trim() === s && s.length > 0);
    fc.assert(
      fc.property(
        text,
        fc.array(
          fc.record({
            accountName: text,
            score: fc.integer({ min: 50, max: 100 }),
            reasons: fc.array(reason, { minLength: 1, maxLength: 3 }),
          }),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (customer, list) => {
          const candidates = list.map((c, i) => ({
            accountId: id(i),
            accountName: c.accountName,
            score: c.score / 100,
            reasons: c.reasons,
          }));
          expect(parseLikelyDuplicates(likelyDuplicatesMessage(customer, candidates), customer)).toStrictEqual(candidates);
        },
      ),
    );
  });
});
