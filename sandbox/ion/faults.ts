/**
 * Fault injection (docs/platform/ion-api.md §9 "Faults and limits"): rules fire by seeded rate, by request number,
 * every Nth, or after N requests, per path/endpoint; plus a sliding-window rate limit that answers
 * 429 with Retry-After. Pure decision logic: the server carries the decision out.
 */
import { seededRandom } from "../../src/shared/random";
import { SimApiError } from "./errors";
import type { FaultConfig, FaultRule } from "./types";

export { seededRandom };

export type FaultDecision =
  | { kind: "none" }
  | { kind: "status"; status: number; retryAfterSeconds?: number; label: string }
  | { kind: "drop"; label: string }
  | { kind: "dropAfter"; label: string }
  | { kind: "latency"; latencyMs: number; label: string };

interface RuleState {
  rule: FaultRule;
  pathRe?: RegExp;
  seen: number;
  fired: number;
}

export class FaultInjector {
  private rules: RuleState[] = [];
  private random: () => number;
  private rateLimit?: { limit: number; windowMs: number };
  private readonly window: number[] = [];

  constructor(
    config: FaultConfig | undefined,
    private readonly defaultSeed: number,
    private readonly realNow: () => number = Date.now,
  ) {
    this.random = seededRandom(defaultSeed);
    this.configure(config);
  }

  configure(config: FaultConfig | undefined): void {
    this.random = seededRandom(config?.seed ?? this.defaultSeed);
    this.rateLimit = config?.rateLimit;
    this.window.length = 0;
    this.rules = (config?.rules ?? []).map((rule) => {
      validateRule(rule);
      return {
        rule,
        ...(rule.path !== undefined ? { pathRe: rule.path instanceof RegExp ? rule.path : new RegExp(rule.path) } : {}),
        seen: 0,
        fired: 0,
      };
    });
  }

  /** Decides what happens to one request. Every matching rule counts the request, first firing rule wins. */
  decide(method: string, path: string, endpoint: string): FaultDecision {
    if (this.rateLimit) {
      const now = this.realNow();
      const { limit, windowMs } = this.rateLimit;
      while (this.window.length > 0 && (this.window[0] as number) <= now - windowMs) this.window.shift();
      if (this.window.length >= limit) {
        const retryAfter = Math.max(1, Math.ceil(((this.window[0] as number) + windowMs - now) / 1000));
        return { kind: "status", status: 429, retryAfterSeconds: retryAfter, label: "rateLimit" };
      }
      this.window.push(now);
    }
    let decision: FaultDecision = { kind: "none" };
    this.rules.forEach((state, index) => {
      const { rule } = state;
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return;
      if (rule.endpoint && rule.endpoint !== endpoint) return;
      if (state.pathRe && !state.pathRe.test(path)) return;
      state.seen++;
      if (decision.kind !== "none") return;
      if (rule.times !== undefined && state.fired >= rule.times) return;
      let fire = false;
      if (rule.requests?.includes(state.seen)) fire = true;
      if (rule.everyNth && state.seen % rule.everyNth === 0) fire = true;
      if (rule.afterRequests !== undefined && state.seen > rule.afterRequests) fire = true;
      // The RNG is drawn for every matching request so one rule's draws do not depend on others firing.
      if (rule.rate !== undefined && this.random() < rule.rate) fire = true;
      if (!fire) return;
      state.fired++;
      const label = `rule${index}:${rule.kind}${rule.kind === "status" ? `:${rule.status ?? 503}` : ""}`;
      if (rule.kind === "status") {
        const status = rule.status ?? 503;
        decision = {
          kind: "status",
          status,
          ...(status === 429 || rule.retryAfterSeconds !== undefined ? { retryAfterSeconds: rule.retryAfterSeconds ?? 1 } : {}),
          label,
        };
      } else if (rule.kind === "latency") {
        decision = { kind: "latency", latencyMs: rule.latencyMs ?? 200, label };
      } else {
        decision = { kind: rule.kind, label };
      }
    });
    return decision;
  }
}

function validateRule(rule: FaultRule): void {
  if (!["status", "drop", "dropAfter", "latency"].includes(rule.kind))
    throw new SimApiError("INVALID_ARGUMENT", `fault rule: unknown kind '${String(rule.kind)}'`);
  if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1))
    throw new SimApiError("INVALID_ARGUMENT", "fault rule: rate must be between 0 and 1");
  if (rule.rate === undefined && rule.requests === undefined && rule.everyNth === undefined && rule.afterRequests === undefined) {
    throw new SimApiError("INVALID_ARGUMENT", "fault rule: give one of rate, requests, everyNth or afterRequests");
  }
  if (rule.kind === "status" && rule.status !== undefined && (rule.status < 400 || rule.status > 599))
    throw new SimApiError("INVALID_ARGUMENT", "fault rule: status must be 4xx or 5xx");
}
