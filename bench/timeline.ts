/**
 * Requests in flight over a run, from each request's start and end (pure): how busy the sync kept a service.
 * `meanInFlight` is the time-weighted mean number of requests in flight, `atCapShare` the share of the
 * run's wall time with `cap` or more in flight (for Ion: its accepted concurrency), `byTenth` the mean
 * in flight over each tenth of the run (where a service waited).
 */
export interface InFlightSummary {
  requests: number;
  meanInFlight: number;
  atCapShare: number;
  byTenth: number[];
}

export class InFlightTimeline {
  private readonly spans: [number, number][] = [];

  add(start: number, end: number): void {
    this.spans.push([start, Math.max(start, end)]);
  }

  summary(from: number, to: number, cap: number): InFlightSummary {
    const wall = Math.max(1, to - from);
    const events: [number, number][] = [];
    for (const [s, e] of this.spans) {
      events.push([Math.max(from, s), 1], [Math.min(to, e), -1]);
    }
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const tenths = new Array<number>(10).fill(0);
    let level = 0;
    let at = from;
    let weighted = 0;
    let atCap = 0;
    const spread = (a: number, b: number, n: number) => {
      // Adds n x (overlap with each tenth) to the tenths.
      for (let i = 0; i < 10; i++) {
        const lo = from + (wall * i) / 10;
        const hi = from + (wall * (i + 1)) / 10;
        const overlap = Math.min(b, hi) - Math.max(a, lo);
        if (overlap > 0) tenths[i]! += n * overlap;
      }
    };
    for (const [t, d] of events) {
      if (t > at) {
        weighted += level * (t - at);
        if (level >= cap) atCap += t - at;
        if (level > 0) spread(at, t, level);
        at = t;
      }
      level += d;
    }
    const r = (n: number) => Math.round(n * 100) / 100;
    return {
      requests: this.spans.length,
      meanInFlight: r(weighted / wall),
      atCapShare: r(atCap / wall),
      byTenth: tenths.map((x) => r(x / (wall / 10))),
    };
  }
}
