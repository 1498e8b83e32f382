/**
 * ImportSolutionAsync as Dataverse runs it: the action answers at once with `AsyncOperationId` and
 * `ImportJobKey`; the system job (asyncoperation) goes In Progress (statecode 2 Locked, statuscode 20), the
 * import job (importjobs(ImportJobKey)) reports `progress` in percent, and at the end the system job is
 * Succeeded (3/30) or Failed (3/31, `message`/`friendlymessage`) and the import job's `data` holds the import
 * log, one `<result result="success|failure" errorcode="…" errortext="…"/>` per component.
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/importsolutionasync
 * https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/importjob
 *
 * `durationMs` makes an import take that long by the emulator's clock, so a client's polling (and its
 * patience) can be tested: with an injected clock the test advances time instead of waiting.
 */
import { randomUUID } from "node:crypto";

import type { Clock } from "../../src/shared/clock";
import type { Logger } from "../../src/shared/logger";
import type { OpContext, Records } from "./records";
import type { Row, Store } from "./store";

export interface ImportJobDeps {
  store: Store;
  records: Records;
  clock: Clock;
  logger: Logger;
  importSolution(zip: Buffer): Promise<void>;
  /** How long (by `clock`) an import takes; 0 = as long as the work itself. */
  durationMs: number;
}

const escapeAttr = (s: string): string => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The import log Dataverse keeps in importjob.data (abridged to the solution-level result). */
export function importLogXml(outcome: { ok: true } | { ok: false; code: string; text: string }): string {
  const result = outcome.ok
    ? '<result result="success" errorcode="0" errortext="" />'
    : `<result result="failure" errorcode="${escapeAttr(outcome.code)}" errortext="${escapeAttr(outcome.text)}" />`;
  return `<importexportxml><solutionManifests><solutionManifest languagecode="1033">${result}</solutionManifest></solutionManifests></importexportxml>`;
}

/** Real ms between checks of the emulator clock while an import "runs". */
const TICK_MS = 5;
// Unref: an import still "running" when the emulator closes must not keep the process alive.
const realDelay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export async function startImportJob(
  deps: ImportJobDeps,
  zip: Buffer,
  op: OpContext,
): Promise<{ asyncOperationId: string; importJobId: string }> {
  const asyncOperationId = randomUUID();
  const importJobId = randomUUID();
  const jobs = deps.store.table("asyncoperation")!;
  const importJobs = deps.store.table("importjob")!;
  const now = () => deps.records.now();
  await deps.store.transaction(async () => {
    await deps.records.create(
      jobs,
      {
        asyncoperationid: asyncOperationId,
        name: "Import Solution",
        operationtype: 3,
        statecode: 2,
        statuscode: 20,
        messagename: "ImportSolution",
        startedon: now(),
      },
      op,
    );
    await deps.records.create(importJobs, { importjobid: importJobId, name: "Import Solution", progress: 0, startedon: now() }, op);
  });
  const update = async (table: typeof jobs, id: string, values: Row) => {
    try {
      await deps.store.transaction(async () => {
        const row = deps.store.getRow(table, id);
        if (row) await deps.records.update(table, row, values, op);
      });
    } catch (err) {
      deps.logger.warn("could not record import progress", { error: (err as Error).message });
    }
  };
  void (async () => {
    const started = deps.clock.now();
    let reported = 0;
    while (deps.clock.now() - started < deps.durationMs) {
      const percent = Math.min(99, Math.floor(((deps.clock.now() - started) / deps.durationMs) * 100));
      if (percent > reported) {
        reported = percent;
        await update(importJobs, importJobId, { progress: percent });
      }
      await realDelay(TICK_MS);
    }
    try {
      await deps.importSolution(zip);
      await update(importJobs, importJobId, { progress: 100, completedon: now(), data: importLogXml({ ok: true }) });
      await update(jobs, asyncOperationId, { statecode: 3, statuscode: 30, completedon: now() });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: unknown }).code;
      await update(importJobs, importJobId, {
        completedon: now(),
        data: importLogXml({ ok: false, code: typeof code === "string" ? code : "0x80048033", text }),
      });
      await update(jobs, asyncOperationId, { statecode: 3, statuscode: 31, completedon: now(), message: text, friendlymessage: text });
    }
  })();
  return { asyncOperationId, importJobId };
}
