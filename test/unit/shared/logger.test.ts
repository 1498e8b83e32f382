import { createLogger, LogLevel, memoryLogger, silentLogger } from "../../../src/shared/logger";
import { forgetSecrets, REDACTED, registerSecret } from "../../../src/shared/redact";

afterEach(() => forgetSecrets());

function recording(level?: LogLevel, base?: Record<string, unknown>) {
  const lines: { entry: Record<string, unknown>; level: LogLevel; line: string }[] = [];
  const logger = createLogger({ level, base, sink: (line, lvl) => lines.push({ entry: JSON.parse(line), level: lvl, line }) });
  return { logger, lines };
}

describe("createLogger", () => {
  it("writes one JSON line per call with time, level, message and fields, at the level called", () => {
    const { logger, lines } = recording("debug");
    logger.debug("d", { n: 1 });
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((l) => [l.level, l.entry.level, l.entry.message])).toEqual([
      ["debug", "debug", "d"],
      ["info", "info", "i"],
      ["warn", "warn", "w"],
      ["error", "error", "e"],
    ]);
    expect(lines[0]!.entry.n).toBe(1);
    expect(new Date(lines[0]!.entry.time as string).toISOString()).toBe(lines[0]!.entry.time);
  });

  it("drops lines below the minimum level and keeps the level itself", () => {
    const { logger, lines } = recording("warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((l) => l.entry.message)).toEqual(["w", "e"]);
  });

  describe("without a level", () => {
    const saved = process.env.LOG_LEVEL;
    afterEach(() => {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    });

    it("takes LOG_LEVEL from the environment", () => {
      process.env.LOG_LEVEL = "error";
      const { logger, lines } = recording();
      logger.warn("w");
      logger.error("e");
      expect(lines.map((l) => l.entry.message)).toEqual(["e"]);
    });

    it("defaults to info when LOG_LEVEL is unset, empty or unknown", () => {
      for (const value of [undefined, "", "verbose"]) {
        if (value === undefined) delete process.env.LOG_LEVEL;
        else process.env.LOG_LEVEL = value;
        const { logger, lines } = recording();
        logger.debug("d");
        logger.info("i");
        expect(lines.map((l) => l.entry.message)).toEqual(["i"]);
      }
    });

    it("lets an explicit level win over LOG_LEVEL", () => {
      process.env.LOG_LEVEL = "error";
      const { logger, lines } = recording("debug");
      logger.debug("d");
      expect(lines).toHaveLength(1);
    });
  });

  it("writes to stderr for warn and error and to stdout otherwise when no sink is given", () => {
    const out = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const logger = createLogger({ level: "debug" });
      logger.debug("to-out-1");
      logger.info("to-out-2");
      logger.warn("to-err-1");
      logger.error("to-err-2");
      const written = (spy: jest.SpyInstance) => spy.mock.calls.map((c) => String(c[0]));
      expect(written(out).map((l) => JSON.parse(l).message)).toEqual(["to-out-1", "to-out-2"]);
      expect(written(err).map((l) => JSON.parse(l).message)).toEqual(["to-err-1", "to-err-2"]);
      expect(written(out).every((l) => l.endsWith("}\n"))).toBe(true);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it("adds the base fields to every line; a child adds its own, keeps the sink and the level", () => {
    const { logger, lines } = recording("info", { run: "r1" });
    logger.info("parent", { phase: "a" });
    const child = logger.child({ customer: "c1" });
    child.debug("dropped");
    child.info("child", { phase: "b" });
    child.child({ page: 2 }).warn("grandchild");
    expect(lines.map((l) => l.entry)).toEqual([
      expect.objectContaining({ message: "parent", run: "r1", phase: "a" }),
      expect.objectContaining({ message: "child", run: "r1", customer: "c1", phase: "b" }),
      expect.objectContaining({ message: "grandchild", run: "r1", customer: "c1", page: 2 }),
    ]);
    expect(lines[0]!.entry).not.toHaveProperty("customer");
  });

  it("never writes a registered secret, a sensitive field or a bearer token", () => {
    registerSecret("s3cr3t-refresh-token-value");
    const { logger, lines } = recording("debug", { accessToken: "base-token-value" });
    logger.info("refreshed with s3cr3t-refresh-token-value", {
      refreshToken: "another-token-value",
      header: "Authorization: Bearer eyJhbGciOiJub25lIn0.e30.c2ln",
      nested: { client_secret: "abc123456789" },
    });
    logger.child({ password: "hunter2-hunter2" }).error("failed");
    const text = lines.map((l) => l.line).join("\n");
    for (const secret of [
      "s3cr3t-refresh-token-value",
      "base-token-value",
      "another-token-value",
      "eyJhbGciOiJub25lIn0",
      "abc123456789",
      "hunter2-hunter2",
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain(REDACTED);
  });
});

describe("createLogger: secrets past the field walk", () => {
  it("masks a registered secret nested deeper than redactValue walks", () => {
    registerSecret("deeply-nested-secret-value");
    let fields: Record<string, unknown> = { note: "deeply-nested-secret-value" };
    for (let i = 0; i < 30; i++) fields = { level: fields };
    const { logger, lines } = recording("info");
    logger.info("deep", fields);
    expect(lines[0]!.line).not.toContain("deeply-nested-secret-value");
    expect(lines[0]!.line).toContain(REDACTED);
  });
});

describe("memoryLogger", () => {
  it("keeps every line from debug up, redacted", () => {
    registerSecret("memory-secret-value");
    const logger = memoryLogger();
    logger.debug("d memory-secret-value");
    logger.child({ k: 1 }).info("i");
    expect(logger.lines).toHaveLength(2);
    expect(JSON.parse(logger.lines[0]!).message).toBe(`d ${REDACTED}`);
    expect(JSON.parse(logger.lines[1]!)).toMatchObject({ level: "info", k: 1 });
  });
});

describe("silentLogger", () => {
  it("drops everything, children included", () => {
    const out = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      silentLogger.info("x");
      silentLogger.child({ a: 1 }).error("y");
      expect(silentLogger.child({})).toBe(silentLogger);
      expect(out).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
    }
  });
});
