import { ValidationError } from "../../../src/shared/errors";
import { BRACED_GUID_PATTERN, EMPTY_GUID, GUID_PATTERN, isGuid, normalizeGuid } from "../../../src/shared/guid";

const ID = "16FD2706-8baf-433b-82eb-8c7fada847da";

describe("GUID helpers", () => {
  it("accepts bare GUIDs in any case and, where braces are allowed, braced ones", () => {
    expect(GUID_PATTERN.test(ID)).toBe(true);
    expect(GUID_PATTERN.test(`{${ID}}`)).toBe(false);
    expect(BRACED_GUID_PATTERN.exec(`{${ID}}`)?.[1]).toBe(ID);
    expect(isGuid(` {${ID}} `)).toBe(true);
    expect(isGuid(EMPTY_GUID)).toBe(true);
  });

  it("refuses near misses", () => {
    for (const bad of [
      "",
      "16fd2706-8baf-433b-82eb-8c7fada847d",
      "16fd2706-8baf-433b-82eb-8c7fada847dax",
      "g6fd2706-8baf-433b-82eb-8c7fada847da",
      `{${ID}`.replace("{", "{{"),
    ]) {
      expect(isGuid(bad)).toBe(false);
    }
    expect(isGuid(42)).toBe(false);
  });

  it("normalises to lower case without braces, or throws a ValidationError naming the field", () => {
    expect(normalizeGuid(`{${ID}}`)).toBe(ID.toLowerCase());
    expect(() => normalizeGuid("nope", "AccountId")).toThrow(ValidationError);
    expect(() => normalizeGuid("nope", "AccountId")).toThrow(expect.objectContaining({ field: "AccountId" }));
  });
});
