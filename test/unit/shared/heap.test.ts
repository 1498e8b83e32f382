import v8 from "node:v8";

import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from "../../../src/shared/heap";

// V8 offers no way to read a flag back, so the flag string handed to V8 is what is observed. The spy
// forwards to V8 unchanged: the flag is really set, as in production.
const setFlags = jest.spyOn(v8, "setFlagsFromString");
beforeEach(() => setFlags.mockClear());

describe("tuneHeapGrowth", () => {
  it("rejects a growth that is not a whole positive percent, saying what it got, and sets nothing", () => {
    expect(() => tuneHeapGrowth(0, [])).toThrow("Heap growing percent must be a whole number of at least 1, got 0.");
    expect(() => tuneHeapGrowth(12.5, [])).toThrow("got 12.5");
    expect(() => tuneHeapGrowth(-3, [])).toThrow("got -3");
    expect(setFlags).not.toHaveBeenCalled();
  });

  it("keeps an operator's own --heap-growing-percent (either spelling) and sets nothing", () => {
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, ["--heap-growing-percent=80"])).toBe(false);
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, ["--inspect", "--heap_growing_percent=80"])).toBe(false);
    expect(setFlags).not.toHaveBeenCalled();
  });

  it("hands V8 exactly the growth asked for, once per process", () => {
    expect(HEAP_GROWING_PERCENT).toBe(50);
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, ["--inspect"])).toBe(true);
    expect(setFlags).toHaveBeenCalledTimes(1);
    expect(setFlags).toHaveBeenCalledWith("--heap-growing-percent=50");
    expect(tuneHeapGrowth(HEAP_GROWING_PERCENT, [])).toBe(false);
    expect(tuneHeapGrowth(70, [])).toBe(false);
    expect(setFlags).toHaveBeenCalledTimes(1);
  });
});
