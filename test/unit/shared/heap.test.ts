import { getHeapStatistics } from "node:v8";

import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from "../../../src/shared/heap";

describe("tuneHeapGrowth", () => {
  it("rejects a growth that is not a whole positive percent, saying what it got", () => {
    expect(() => tuneHeapGrowth(0, [])).toThrow("Heap growing percent must be a whole number of at least 1, got 0.");
    expect(() => tuneHeapGrowth(12.5, [])).toThrow("got 12.5");
  });

  it("keeps an operator's own --heap-growing-percent", () => {
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, ["--heap-growing-percent=80"])).toBe(false);
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, ["--heap_growing_percent=80"])).toBe(false);
  });

  it("sets the flag once per process and the process keeps running normally", () => {
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, [])).toBe(true);
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, [])).toBe(false);
    // Allocate and drop pages of rows the way a sync does: the heap stays usable with the flag set.
    let kept = 0;
    for (let page = 0; page < 20; page++)
      kept += JSON.parse(JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ id: `r${page}-${i}`, n: i })))).length;
    expect(kept).toBe(100_000);
    expect(getHeapStatistics().used_heap_size).toBeGreaterThan(0);
  });
});
