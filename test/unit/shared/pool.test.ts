import { readAhead, readAheadUntil } from "../../../src/shared/pool";

/** A source of `n` items that records when each one is asked for; each answers on the next turn. */
function source(n: number) {
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

describe("readAhead", () => {
  it("keeps one item fetched ahead by default", async () => {
    const s = source(10);
    const it = readAhead(s.it)[Symbol.asyncIterator]();
    await turns(20);
    expect(s.asked).toEqual([0]);
    expect((await it.next()).value).toBe(0);
    await turns(20);
    expect(s.asked).toEqual([0, 1]);
  });

  it("keeps `depth` items fetched ahead of a slow consumer, one after another", async () => {
    const s = source(10);
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
    const s = source(20);
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
