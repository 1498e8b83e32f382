/**
 * Service protection limits (docs/platform/dataverse.md 1.8): per user, a sliding window of request count
 * and combined execution time, plus concurrent requests. Breaches answer 429 with Retry-After and the
 * documented codes and messages. A $batch counts as one request; its execution time still adds up.
 */
import type { Clock } from "../../src/shared/clock";
import { DataverseHttpError, ErrorCodes } from "./errors";

export interface ServiceProtectionOptions {
  enabled: boolean;
  requestsPerWindow?: number;
  windowMs?: number;
  executionMsPerWindow?: number;
  maxConcurrent?: number;
  /** Fixed Retry-After; by default the seconds until the window frees enough room. */
  retryAfterSeconds?: number;
}

interface UserWindow {
  requests: number[]; // start times
  executions: { at: number; ms: number }[];
  executionTotal: number;
  concurrent: number;
}

export class ServiceProtection {
  private readonly users = new Map<string, UserWindow>();
  readonly limits: Required<Omit<ServiceProtectionOptions, "retryAfterSeconds">> & { retryAfterSeconds?: number };

  constructor(
    options: ServiceProtectionOptions,
    private readonly clock: Clock,
  ) {
    this.limits = {
      enabled: options.enabled,
      requestsPerWindow: options.requestsPerWindow ?? 6000,
      windowMs: options.windowMs ?? 300_000,
      executionMsPerWindow: options.executionMsPerWindow ?? 1_200_000,
      maxConcurrent: options.maxConcurrent ?? 52,
      retryAfterSeconds: options.retryAfterSeconds,
    };
  }

  private window(userId: string): UserWindow {
    let w = this.users.get(userId);
    if (!w) {
      w = { requests: [], executions: [], executionTotal: 0, concurrent: 0 };
      this.users.set(userId, w);
    }
    const horizon = this.clock.now() - this.limits.windowMs;
    let drop = 0;
    while (drop < w.requests.length && w.requests[drop]! <= horizon) drop++;
    if (drop) w.requests.splice(0, drop);
    drop = 0;
    while (drop < w.executions.length && w.executions[drop]!.at <= horizon) {
      w.executionTotal -= w.executions[drop]!.ms;
      drop++;
    }
    if (drop) w.executions.splice(0, drop);
    return w;
  }

  private retryAfter(oldest: number | undefined): string {
    if (this.limits.retryAfterSeconds !== undefined) return String(this.limits.retryAfterSeconds);
    const until = oldest === undefined ? 1 : Math.ceil((oldest + this.limits.windowMs - this.clock.now()) / 1000);
    return String(Math.max(1, until));
  }

  /** Admits a request or throws the 429; call `finish` with the returned token when the request ends. */
  admit(userId: string): { finish: () => void } | null {
    if (!this.limits.enabled) return null;
    const w = this.window(userId);
    if (w.concurrent >= this.limits.maxConcurrent) {
      throw new DataverseHttpError(
        429,
        ErrorCodes.ConcurrencyLimitExceeded,
        `Number of concurrent requests exceeded the limit of ${this.limits.maxConcurrent}.`,
        {
          "Retry-After": this.limits.retryAfterSeconds !== undefined ? String(this.limits.retryAfterSeconds) : "1",
        },
      );
    }
    if (w.requests.length >= this.limits.requestsPerWindow) {
      throw new DataverseHttpError(
        429,
        ErrorCodes.TooManyRequests,
        `Number of requests exceeded the limit of ${this.limits.requestsPerWindow} over time window of ${this.limits.windowMs / 1000} seconds.`,
        { "Retry-After": this.retryAfter(w.requests[0]) },
      );
    }
    if (w.executionTotal >= this.limits.executionMsPerWindow) {
      throw new DataverseHttpError(
        429,
        ErrorCodes.ExecutionTimeExceeded,
        `Combined execution time of incoming requests exceeded limit of ${this.limits.executionMsPerWindow.toLocaleString("en-US")} milliseconds over time window of ${this.limits.windowMs / 1000} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
        { "Retry-After": this.retryAfter(w.executions[0]?.at) },
      );
    }
    const start = this.clock.now();
    w.requests.push(start);
    w.concurrent++;
    return {
      finish: () => {
        w.concurrent--;
        const ms = Math.max(0, this.clock.now() - start);
        w.executions.push({ at: start, ms });
        w.executionTotal += ms;
      },
    };
  }

  /** Debug headers Dataverse returns (remaining requests / execution time in the window). */
  remaining(userId: string): Record<string, string> {
    if (!this.limits.enabled) return {};
    const w = this.window(userId);
    return {
      "x-ms-ratelimit-burst-remaining-xrm-requests": String(Math.max(0, this.limits.requestsPerWindow - w.requests.length)),
      "x-ms-ratelimit-time-remaining-xrm-requests": String(Math.max(0, this.limits.executionMsPerWindow - w.executionTotal)),
    };
  }
}
