import { branchCount, inRange, splitIds } from "../../../../src/sync/outbound/partition";

const ids = Array.from({ length: 10 }, (_, i) => `${String.fromCharCode(97 + i)}0000000-0000-0000-0000-00000000000${i}`);

describe("how a fanned-out outbound phase splits its rows", () => {
  it("fans out only above the threshold, one branch per threshold rows, at most the maximum", () => {
    expect(branchCount(20, { rows: 20, branches: 4 })).toBe(0);
    expect(branchCount(21, { rows: 20, branches: 4 })).toBe(2);
    expect(branchCount(61, { rows: 20, branches: 4 })).toBe(4);
    expect(branchCount(1000, { rows: 20, branches: 4 })).toBe(4);
    expect(branchCount(1000, { rows: 20, branches: 1 })).toBe(0);
  });

  it("puts every id, pending now or later, in exactly one range, the ranges near equal in size", () => {
    const ranges = splitIds([...ids].reverse(), 3);
    expect(ranges).toHaveLength(3);
    expect(ranges[0]!.from).toBeUndefined();
    expect(ranges[2]!.to).toBeUndefined();
    expect(ranges.map((r) => ids.filter((id) => inRange(id, r)).length)).toStrictEqual([3, 3, 4]);
    for (const other of ["0", "b", "c5", "zz", ids[4]!.toUpperCase()]) expect(ranges.filter((r) => inRange(other, r))).toHaveLength(1);
  });

  it("never makes more ranges than ids, and compares ids in lower case", () => {
    expect(splitIds(["B", "a"], 4)).toStrictEqual([{ to: "b" }, { from: "b" }]);
    expect(inRange("A", { from: "a", to: "b" })).toBe(true);
  });

  it("skips the rows up to the last one an earlier turn finished", () => {
    expect(ids.filter((id) => inRange(id, { last: ids[6]!.toLowerCase() }))).toStrictEqual(ids.slice(7));
  });
});
