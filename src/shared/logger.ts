import { redact, redactValue } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string, level: LogLevel) => void;

/** Structured JSON-lines logger. Every line is redacted before it reaches the sink. */
export function createLogger(options: { level?: LogLevel; sink?: LogSink; base?: Record<string, unknown> } = {}): Logger {
  const min = ORDER[options.level ?? ((process.env.LOG_LEVEL as LogLevel) || "info")] ?? ORDER.info;
  const sink: LogSink =
    options.sink ?? ((line, level) => (level === "error" || level === "warn" ? process.stderr : process.stdout).write(line + "\n"));
  const base = options.base ?? {};
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const entry = redactValue({ time: new Date().toISOString(), level, message, ...base, ...(fields ?? {}) });
    sink(redact(JSON.stringify(entry)), level);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ level: options.level, sink, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything; for tests and quiet CLI modes. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** A logger that keeps redacted lines in memory; tests scan them for secrets. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", sink: (line) => lines.push(line) });
  return Object.assign(logger, { lines });
}
