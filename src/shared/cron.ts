/**
 * NCRONTAB, the six-field cron dialect of Azure Functions timers: `{second} {minute} {hour} {day}
 * {month} {day-of-week}`. Used to validate schedule settings at start-up (a typo must fail the app,
 * not silently never fire), to decide which connectors are due, and by the local host to run the
 * timers on their schedule. Times are UTC, as Azure uses unless WEBSITE_TIME_ZONE is set.
 * Day-of-month and day-of-week must both match when both are restricted.
 */
import { ConfigError } from "./errors";

export interface CronSchedule {
  expression: string;
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesStart?: number;
}
const FIELDS: FieldSpec[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, namesStart: 1 },
  { name: "day-of-week", min: 0, max: 7, names: WEEKDAYS, namesStart: 0 },
];

function parseNumber(token: string, spec: FieldSpec, expression: string): number {
  const lower = token.toLowerCase();
  const named = spec.names?.indexOf(lower.slice(0, 3)) ?? -1;
  const value = named >= 0 && lower.length >= 3 ? named + (spec.namesStart ?? 0) : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
    throw new ConfigError(
      `"${expression}" is not a valid NCRONTAB schedule: ${spec.name} value "${token}" must be ${spec.min}-${spec.max}.`,
    );
  }
  return value;
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (range === undefined || range === "" || extra !== undefined) {
      throw new ConfigError(`"${expression}" is not a valid NCRONTAB schedule: bad ${spec.name} field "${text}".`);
    }
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : NaN;
    if (!Number.isInteger(step) || step < 1)
      throw new ConfigError(`"${expression}" is not a valid NCRONTAB schedule: bad step in ${spec.name} field "${text}".`);
    let from: number;
    let to: number;
    if (range === "*") {
      from = spec.min;
      to = spec.name === "day-of-week" ? 6 : spec.max;
    } else if (range.includes("-")) {
      const [a, b] = range.split("-");
      from = parseNumber(a ?? "", spec, expression);
      to = parseNumber(b ?? "", spec, expression);
      if (from > to)
        throw new ConfigError(`"${expression}" is not a valid NCRONTAB schedule: ${spec.name} range "${range}" runs backwards.`);
    } else {
      from = parseNumber(range, spec, expression);
      to = stepText === undefined ? from : spec.name === "day-of-week" ? 6 : spec.max;
    }
    for (let v = from; v <= to; v += step) out.add(spec.name === "day-of-week" && v === 7 ? 0 : v);
  }
  return out;
}

export function parseNcrontab(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ConfigError(
      `"${expression}" is not a valid NCRONTAB schedule: it needs 6 fields "{second} {minute} {hour} {day} {month} {day-of-week}", e.g. "0 0 2 * * *" for 02:00 daily.`,
    );
  }
  const sets = fields.map((f, i) => parseField(f, FIELDS[i] as FieldSpec, expression));
  return {
    expression,
    seconds: sets[0] as Set<number>,
    minutes: sets[1] as Set<number>,
    hours: sets[2] as Set<number>,
    days: sets[3] as Set<number>,
    months: sets[4] as Set<number>,
    weekdays: sets[5] as Set<number>,
  };
}

function sorted(set: ReadonlySet<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

/** The first occurrence strictly after `after` (UTC), or undefined when none within five years (e.g. 31 February). */
export function nextOccurrence(schedule: CronSchedule, after: Date): Date | undefined {
  const start = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  const hours = sorted(schedule.hours);
  const minutes = sorted(schedule.minutes);
  const seconds = sorted(schedule.seconds);
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (let i = 0; i < 366 * 5; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    if (!schedule.months.has(day.getUTCMonth() + 1) || !schedule.days.has(day.getUTCDate()) || !schedule.weekdays.has(day.getUTCDay()))
      continue;
    for (const h of hours) {
      for (const m of minutes) {
        for (const s of seconds) {
          const candidate = new Date(day.getTime() + ((h * 60 + m) * 60 + s) * 1000);
          if (candidate.getTime() >= start.getTime()) return candidate;
        }
      }
    }
  }
  return undefined;
}

/** True when the schedule had an occurrence in (since, now]: the work it schedules is due. */
export function isDue(schedule: CronSchedule, since: Date, now: Date): boolean {
  const next = nextOccurrence(schedule, since);
  return next !== undefined && next.getTime() <= now.getTime();
}
