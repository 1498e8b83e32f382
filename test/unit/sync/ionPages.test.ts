/** Ion subscription pages read several at a time (src/sync/ionPages.ts). */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { IonValidationError } from "../../../src/ion/errors";
import type { OffsetPage } from "../../../src/ion/paging";
import { parallelOffsetPages } from "../../../src/sync/ionPages";

/** An offset-paged list of `total` numbers: `cap` is the server's largest page, `refuseAbove` answers 400 above a size. */
function list(total: number, o: { cap?: number; refuseAbove?: number; noTotal?: boolean } = {}) {
  const calls: { offset: number; limit: number }[] = [];
  let inFlight = 0;
  let peak = 0;
  const fetchPage = async (offset: number, limit: number): Promise<OffsetPage<number>> => {
    calls.push({ offset, limit });
    if (o.refuseAbove !== undefined && limit > o.refuseAbove)
      throw new IonValidationError("ION_VALIDATION", "pagination.limit too large", []);
    inFlight++;
    peak = Math.max(peak, inFlight);
    // Later pages answer sooner, so an in-order result proves the reordering.
    await new Promise((r) => setTimeout(r, Math.max(0, 20 - offset / 10)));
    inFlight--;
    const size = Math.min(limit, o.cap ?? limit);
    const items = Array.from({ length: Math.max(0, Math.min(size, total - offset)) }, (_, i) => offset + i);
    return o.noTotal ? { items } : { items, totalSize: total };
  };
  return { fetchPage, calls, peak: () => peak };
}

async function all(pages: AsyncIterable<number[]>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const p of pages) out.push(p);
  return out;
}

describe("parallelOffsetPages", () => {
  it("reads the pages after the first several at a time and yields them in order", async () => {
    const l = list(95);
    const pages = await all(parallelOffsetPages(l.fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 3 }));
    expect(pages.flat()).toStrictEqual(Array.from({ length: 95 }, (_, i) => i));
    expect(pages).toHaveLength(10);
    expect(l.peak()).toBe(3);
  });

  describe("on the last read's shape", () => {
    /** The calls made before the first page answered (the guesses go out beside it). */
    function beforeFirstAnswer(l: ReturnType<typeof list>, fetchPage = l.fetchPage) {
      let firstAnswered = false;
      const early: number[] = [];
      const watched = async (offset: number, limit: number) => {
        if (!firstAnswered) early.push(offset);
        const page = await fetchPage(offset, limit);
        if (offset === 0) firstAnswered = true;
        return page;
      };
      return { watched, early };
    }

    it("asks for the pages after the first beside it, and uses them once it confirms the shape", async () => {
      const l = list(95);
      const w = beforeFirstAnswer(l);
      const pages = await all(
        parallelOffsetPages(w.watched, { limit: 10, fallbackLimit: 5, concurrency: 3, expected: { step: 10, total: 95 } }),
      );
      expect(pages.flat()).toStrictEqual(Array.from({ length: 95 }, (_, i) => i));
      expect(w.early).toStrictEqual([0, 10, 20]);
      expect(l.calls.map((c) => c.offset)).toStrictEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
      expect(l.peak()).toBe(3);
    });

    it("drops guesses past a total that shrank, and asks for no page twice", async () => {
      const l = list(25);
      const shapes: unknown[] = [];
      const pages = await all(
        parallelOffsetPages(l.fetchPage, {
          limit: 10,
          fallbackLimit: 5,
          concurrency: 5,
          expected: { step: 10, total: 95 },
          onShape: (shape) => shapes.push(shape),
        }),
      );
      expect(pages.flat()).toStrictEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(shapes).toStrictEqual([{ step: 10, total: 25 }]);
      expect(l.calls.map((c) => c.offset)).toStrictEqual([0, 10, 20, 30, 40]);
    });

    it("reads the list on the server's step when the guessed step is wrong (a cap), dropping every guess", async () => {
      const l = list(7, { cap: 3 });
      const pages = await all(
        parallelOffsetPages(l.fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 3, expected: { step: 10, total: 30 } }),
      );
      expect(pages.flat()).toStrictEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(l.calls.slice(0, 3).map((c) => c.offset)).toStrictEqual([0, 10, 20]);
      expect(l.calls.slice(3).map((c) => c.offset)).toStrictEqual([3, 6]);
    });

    it("guesses nothing when the last read's step is not the size asked now (Ion refused it, or another size)", async () => {
      const l = list(30, { refuseAbove: 5 });
      const pages = await all(
        parallelOffsetPages(l.fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 3, expected: { step: 5, total: 30 } }),
      );
      expect(pages.flat()).toStrictEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(l.calls.map((c) => c.offset)).toStrictEqual([0, 0, 5, 10, 15, 20, 25]);
    });
  });

  it("falls back to the documented page size when Ion refuses the larger one", async () => {
    const l = list(12, { refuseAbove: 5 });
    const pages = await all(parallelOffsetPages(l.fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 2 }));
    expect(pages).toStrictEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [10, 11],
    ]);
    expect(l.calls[0]).toStrictEqual({ offset: 0, limit: 10 });
    expect(l.calls.slice(1).every((c) => c.limit === 5)).toBe(true);
  });

  it("steps by the server's cap when it answers fewer rows than asked", async () => {
    const l = list(7, { cap: 3 });
    expect((await all(parallelOffsetPages(l.fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 4 }))).flat()).toStrictEqual([
      0, 1, 2, 3, 4, 5, 6,
    ]);
  });

  it("walks page by page until a short page when Ion gives no total", async () => {
    const l = list(25, { noTotal: true });
    const pages = await all(parallelOffsetPages(l.fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 4 }));
    expect(pages.map((p) => p.length)).toStrictEqual([10, 10, 5]);
    expect(l.peak()).toBe(1);
  });

  it("passes other errors on", async () => {
    const fetchPage = async (): Promise<OffsetPage<number>> => {
      throw new Error("boom");
    };
    await expect(all(parallelOffsetPages(fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 2 }))).rejects.toThrow("boom");
  });
  it("with room for answered pages, asks for the next ones as soon as one answers, not when one is taken", async () => {
    let started = 0;
    const answers: (() => void)[] = [];
    const fetchPage = (offset: number, limit: number): Promise<OffsetPage<number>> => {
      started++;
      const page = { items: Array.from({ length: Math.min(limit, 100 - offset) }, (_, i) => offset + i), totalSize: 100 };
      return offset === 0 ? Promise.resolve(page) : new Promise((resolve) => answers.push(() => resolve(page)));
    };
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const run = async (buffered?: () => number) => {
      started = 0;
      answers.length = 0;
      const it = parallelOffsetPages(fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 2, buffered })[Symbol.asyncIterator]();
      await it.next();
      await settle();
      expect(started).toBe(3);
      // Two pages answer while the consumer is busy elsewhere.
      answers.shift()!();
      answers.shift()!();
      await settle();
      return started;
    };
    // Without room: nothing more until the consumer takes a page.
    expect(await run()).toBe(3);
    // With room for two answered pages: two more asked for at once.
    expect(await run(() => 2)).toBe(5);
  });

  describe("lets a page go once the consumer asks for the next one", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;

    it.each([
      ["with a total", false],
      ["without a total", true],
    ])("%s", async (_, noTotal) => {
      // Pages of objects (the records of a sync), the next one slow, so that the generator waits for it.
      const fetchPage = async (offset: number, limit: number): Promise<OffsetPage<{ n: number }>> => {
        if (offset > 0) await new Promise((r) => setTimeout(r, 40));
        const items = Array.from({ length: Math.max(0, Math.min(limit, 30 - offset)) }, (_, i) => ({ n: offset + i }));
        return noTotal ? { items } : { items, totalSize: 30 };
      };
      const pages = parallelOffsetPages(fetchPage, { limit: 10, fallbackLimit: 5, concurrency: 1 });
      // Taken in a function of its own, so that no variable of this test holds a page.
      const take = async () => new WeakRef((await pages.next()).value as object);
      const handedOut = [await take(), await take()];
      // The consumer is done with both pages and waits for the third: neither is held any more.
      const third = pages.next();
      await new Promise((r) => setTimeout(r, 5));
      gc();
      expect(handedOut.map((ref) => ref.deref() === undefined)).toStrictEqual([true, true]);
      expect(((await third).value as { n: number }[])[0]).toStrictEqual({ n: 20 });
    });
  });
});
