import { eventLoopSlicer, mapPool, readAhead, readAheadUntil } from "../../../src/shared/pool";

/** A promise the test settles by hand. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Lets every queued promise callback run. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An async source that counts the items it was asked for and can refuse one, or report its return(). */
function source(items: number[], options: { failAt?: number } = {}) {
  const log = { pulled: 0, returned: false };
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<number>> {
          const i = log.pulled++;
          if (i === options.failAt) throw new Error(`page ${i} failed`);
          return i < items.length ? { done: false, value: items[i]! } : { done: true, value: undefined };
        },
        async return(): Promise<IteratorResult<number>> {
          log.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, log };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of iterable) out.push(v);
  return out;
}

describe("mapPool", () => {
  it("keeps the input order whatever order the calls finish in", async () => {
    const gates = [gate(), gate(), gate()];
    const result = mapPool([0, 1, 2], 3, async (item) => {
      await gates[item]!.promise;
      return item * 10;
    });
    gates[2]!.open();
    gates[0]!.open();
    gates[1]!.open();
    await expect(result).resolves.toEqual([0, 10, 20]);
  });

  it("calls fn once per item with its index, never more than `limit` at once", async () => {
    let inFlight = 0;
    let most = 0;
    const calls: [string, number][] = [];
    const result = await mapPool(["a", "b", "c", "d", "e"], 2, async (item, index) => {
      calls.push([item, index]);
      inFlight++;
      most = Math.max(most, inFlight);
      await drain();
      inFlight--;
      return item.toUpperCase();
    });
    expect(result).toEqual(["A", "B", "C", "D", "E"]);
    expect(calls.sort()).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 2],
      ["d", 3],
      ["e", 4],
    ]);
    expect(most).toBe(2);
  });

  it("uses `limit` workers at once when there are enough items", async () => {
    let inFlight = 0;
    let most = 0;
    await mapPool([1, 2, 3, 4, 5, 6], 4, async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await drain();
      inFlight--;
    });
    expect(most).toBe(4);
  });

  it("still makes progress with a limit below one, one at a time", async () => {
    let inFlight = 0;
    let most = 0;
    const result = await mapPool([1, 2, 3], 0, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await drain();
      inFlight--;
      return n + 1;
    });
    expect(result).toEqual([2, 3, 4]);
    expect(most).toBe(1);
  });

  it("returns an empty list for no items without calling fn", async () => {
    const fn = jest.fn(async () => 1);
    await expect(mapPool([], 4, fn)).resolves.toEqual([]);
    expect(fn).not.toHaveBeenCalled();
  });

  it("rejects with the first failure", async () => {
    await expect(
      mapPool([1, 2], 2, async (n) => {
        if (n === 2) throw new Error("boom");
        return n;
      }),
    ).rejects.toThrow("boom");
  });
});

describe("readAhead", () => {
  it("yields every item in order, then ends", async () => {
    const { iterable } = source([1, 2, 3]);
    await expect(collect(readAhead(iterable))).resolves.toEqual([1, 2, 3]);
  });

  it("starts fetching before the first next() and keeps exactly one item ahead of the consumer", async () => {
    const { iterable, log } = source([1, 2, 3, 4, 5]);
    const it = readAhead(iterable)[Symbol.asyncIterator]();
    await drain();
    expect(log.pulled).toBe(1);
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 });
    await drain();
    expect(log.pulled).toBe(2);
    await expect(it.next()).resolves.toEqual({ done: false, value: 2 });
    await drain();
    expect(log.pulled).toBe(3);
  });

  it("asks the source for nothing after it has ended, and keeps answering done", async () => {
    const { iterable, log } = source([1]);
    const it = readAhead(iterable)[Symbol.asyncIterator]();
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
    await drain();
    const pulled = log.pulled;
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
    await drain();
    expect(log.pulled).toBe(pulled);
  });

  it("delivers the items before a failure, then the failure, then stops fetching", async () => {
    const { iterable, log } = source([1, 2, 3, 4], { failAt: 2 });
    const it = readAhead(iterable)[Symbol.asyncIterator]();
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(it.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(it.next()).rejects.toThrow("page 2 failed");
    await drain();
    expect(log.pulled).toBe(3);
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
    expect(log.pulled).toBe(3);
  });

  it("closes the source when the consumer stops early, and fetches nothing more", async () => {
    const { iterable, log } = source([1, 2, 3, 4, 5]);
    const seen: number[] = [];
    for await (const v of readAhead(iterable)) {
      seen.push(v);
      if (v === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(log.returned).toBe(true);
    const pulled = log.pulled;
    await drain();
    expect(log.pulled).toBe(pulled);
    expect(pulled).toBeLessThanOrEqual(3);
  });

  it("return() answers done and works on a source without return()", async () => {
    const plain: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false, value: 7 }) }),
    };
    const it = readAhead(plain)[Symbol.asyncIterator]();
    await expect(it.next()).resolves.toEqual({ done: false, value: 7 });
    await expect(it.return!()).resolves.toEqual({ done: true, value: undefined });
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });
});

describe("readAhead(…).whileWaiting", () => {
  it("reads further ahead while the consumer waits, back to its depth once the wait settles", async () => {
    const { iterable, log } = source([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const pages = readAhead(iterable, 2);
    const it = pages[Symbol.asyncIterator]();
    await drain();
    expect(log.pulled).toBe(2);
    const stored = gate();
    const waited = pages.whileWaiting(
      stored.promise.then(() => "rows"),
      5,
    );
    await drain();
    // The chain went on while nothing was taken.
    expect(log.pulled).toBe(5);
    stored.open();
    await expect(waited).resolves.toBe("rows");
    await drain();
    // Buffered items stay; no new fetch until fewer than two are ahead again.
    for (const v of [1, 2, 3]) await expect(it.next()).resolves.toEqual({ done: false, value: v });
    await drain();
    expect(log.pulled).toBe(5);
    await expect(it.next()).resolves.toEqual({ done: false, value: 4 });
    await drain();
    expect(log.pulled).toBe(6);
    await expect(collect({ [Symbol.asyncIterator]: () => it })).resolves.toEqual([5, 6, 7, 8, 9, 10]);
  });

  it("keeps the deepest of waits that overlap, and settles on a rejected wait too", async () => {
    const { iterable, log } = source([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const pages = readAhead(iterable, 1);
    const it = pages[Symbol.asyncIterator]();
    const a = gate();
    const b = gate();
    void pages.whileWaiting(a.promise, 4);
    const failed = pages.whileWaiting(
      b.promise.then(() => Promise.reject(new Error("read failed"))),
      7,
    );
    await drain();
    expect(log.pulled).toBe(7);
    b.open();
    await expect(failed).rejects.toThrow("read failed");
    for (const v of [1, 2, 3, 4]) await expect(it.next()).resolves.toEqual({ done: false, value: v });
    await drain();
    // The wider wait is over, the other still holds four ahead.
    expect(log.pulled).toBe(8);
    a.open();
    await drain();
    for (const v of [5, 6, 7, 8]) await expect(it.next()).resolves.toEqual({ done: false, value: v });
    await drain();
    expect(log.pulled).toBe(9);
  });
});

describe("readAheadUntil", () => {
  it("fetches up to `early` items, one after another, while `until` is pending, then one ahead", async () => {
    const { iterable, log } = source([1, 2, 3, 4, 5, 6, 7, 8]);
    const until = gate();
    const it = readAheadUntil(iterable, until.promise, 3)[Symbol.asyncIterator]();
    await drain();
    expect(log.pulled).toBe(3);
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 });
    await drain();
    // Taking one leaves room for one more while the caller still waits.
    expect(log.pulled).toBe(4);
    until.open();
    await drain();
    await expect(it.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(it.next()).resolves.toEqual({ done: false, value: 3 });
    await expect(it.next()).resolves.toEqual({ done: false, value: 4 });
    await drain();
    // Settled: back to one ahead of what was taken.
    expect(log.pulled).toBe(5);
    await expect(collect({ [Symbol.asyncIterator]: () => it })).resolves.toEqual([5, 6, 7, 8]);
  });

  it("reads one ahead once `until` rejects too", async () => {
    const { iterable, log } = source([1, 2, 3, 4, 5, 6]);
    const until = Promise.reject(new Error("store read failed"));
    const it = readAheadUntil(iterable, until, 4)[Symbol.asyncIterator]();
    await drain();
    expect(log.pulled).toBe(4);
    for (const v of [1, 2, 3, 4]) await expect(it.next()).resolves.toEqual({ done: false, value: v });
    await drain();
    expect(log.pulled).toBe(5);
  });

  it("treats an `early` below one as one", async () => {
    const { iterable, log } = source([1, 2, 3]);
    const it = readAheadUntil(iterable, new Promise(() => undefined), 0)[Symbol.asyncIterator]();
    await drain();
    expect(log.pulled).toBe(1);
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 });
  });

  it("fetches nothing more once closed, even the reads already queued behind one in flight", async () => {
    let pulled = 0;
    const held = gate();
    const slow: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          pulled++;
          await held.promise;
          return { done: false, value: pulled };
        },
        async return() {
          return { done: true, value: undefined };
        },
      }),
    };
    const it = readAheadUntil(slow, gate().promise, 3)[Symbol.asyncIterator]();
    await drain();
    expect(pulled).toBe(1);
    await expect(it.return!()).resolves.toEqual({ done: true, value: undefined });
    held.open();
    await drain();
    await drain();
    expect(pulled).toBe(1);
  });

  it("never has two fetches of the source in flight at once", async () => {
    let inFlight = 0;
    let most = 0;
    let n = 0;
    const slow: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          inFlight++;
          most = Math.max(most, inFlight);
          await drain();
          inFlight--;
          return n < 6 ? { done: false, value: n++ } : { done: true, value: undefined };
        },
      }),
    };
    await expect(collect(readAheadUntil(slow, gate().promise, 4))).resolves.toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(1);
  });
});

describe("eventLoopSlicer", () => {
  it("answers undefined while the slice has not run out", () => {
    const slice = eventLoopSlicer(Number.POSITIVE_INFINITY);
    expect(slice()).toBeUndefined();
    expect(slice()).toBeUndefined();
  });

  it("answers a promise that resolves after the event loop has turned, once the slice has run out", async () => {
    const slice = eventLoopSlicer(-1);
    let turned = false;
    setImmediate(() => (turned = true));
    const wait = slice();
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(turned).toBe(true);
  });
});

/** A source of `n` items that records when each one is asked for; each answers on the next turn. */
function pacedSource(n: number) {
  const asked: number[] = [];
  async function* gen() {
    for (let i = 0; i < n; i++) {
      asked.push(i);
      await new Promise<void>((r) => setImmediate(r));
      yield i;
    }
  }
  return { asked, it: gen() };
}

const turns = async (k: number) => {
  for (let i = 0; i < k; i++) await new Promise<void>((r) => setImmediate(r));
};

describe("readAhead depth", () => {
  it("keeps one item fetched ahead by default", async () => {
    const s = pacedSource(10);
    const it = readAhead(s.it)[Symbol.asyncIterator]();
    await turns(20);
    expect(s.asked).toEqual([0]);
    expect((await it.next()).value).toBe(0);
    await turns(20);
    expect(s.asked).toEqual([0, 1]);
  });

  it("keeps `depth` items fetched ahead of a slow consumer, one after another", async () => {
    const s = pacedSource(10);
    const it = readAhead(s.it, 3)[Symbol.asyncIterator]();
    await turns(20);
    expect(s.asked).toEqual([0, 1, 2]);
    expect((await it.next()).value).toBe(0);
    await turns(20);
    expect(s.asked).toEqual([0, 1, 2, 3]);
    const rest: number[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      rest.push(r.value);
    }
    expect(rest).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("readAheadUntil reads `early` ahead until its promise settles, then `later`", async () => {
    const s = pacedSource(20);
    let settle!: () => void;
    const until = new Promise<void>((r) => (settle = r));
    const it = readAheadUntil(s.it, until, 5, 2)[Symbol.asyncIterator]();
    await turns(30);
    expect(s.asked).toEqual([0, 1, 2, 3, 4]);
    settle();
    await turns(5);
    for (let i = 0; i < 5; i++) expect((await it.next()).value).toBe(i);
    await turns(30);
    expect(s.asked).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
