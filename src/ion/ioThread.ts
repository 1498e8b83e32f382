/**
 * Ion's HTTP exchanges on a thread of their own.
 *
 * A sync's thread parses and compares Ion's pages: tens of milliseconds for a page of 1,000 subscriptions. An
 * answer that arrives meanwhile waits to be noticed, and so does the request its concurrency slot would let go.
 * Ion counts a call as done when it has answered; a transport on the sync's thread counted it done only when
 * that thread came round to the answer. Under the cloud latency model (sandbox/latency.ts) that kept Ion's 8
 * slots idle about a fifth of a 1% run (bench/README.md, "Ion's answers on their own thread").
 *
 * Here the sockets, each transport's cap and its queue live on a thread that does nothing else: the moment an
 * answer has arrived, its slot passes to the next waiting request, whatever the sync's thread is doing. The
 * thread sends the same axios request the inline path sends (`ionAxiosConfig` in transport.ts) through agents
 * of the same options, and hands back status, headers and the body's bytes; decoding, parsing, retries and typed errors stay
 * with the caller.
 *
 * One thread per process, shared by every transport (the functions app runs many connectors), each transport
 * a lane with its own cap, so one connector's queue never holds another's. A worker needs a script: the thread
 * runs the source text of `ioThreadProgram`, which therefore uses nothing from outside itself but what it
 * requires (the same text comes out of the compiled build and out of ts-jest).
 */
import { Worker } from "node:worker_threads";

/** The network code of a call whose thread stopped before it was answered. */
export const IO_THREAD_STOPPED = "ERR_IO_THREAD";

/** What crosses to the thread: an axios request config of plain data. */
export interface ThreadRequestConfig {
  method: string;
  url: string;
  headers?: Record<string, string>;
  params?: Record<string, string | number | boolean>;
  data?: unknown;
  timeout: number;
  proxy?: false;
}

interface SendMessage {
  id: number;
  lane: number;
  max: number;
  urgent: boolean;
  config: ThreadRequestConfig;
}

/** A network failure as the thread saw it: the fields `networkCodeOf` reads. */
export interface ThreadNetworkFailure {
  code?: string;
  message?: string;
  cause?: { code?: string; message?: string };
}

type AnswerMessage =
  | { id: number; ok: true; status: number; headers: Record<string, unknown>; body: Uint8Array; ms: number; peak: number }
  | { id: number; ok: false; failure: ThreadNetworkFailure; ms: number; peak: number };

export interface ThreadAnswer {
  status: number;
  headers: Record<string, unknown>;
  /** The body's bytes (decoded by the caller). */
  body: Uint8Array;
  /** Time from the request's start on the thread (after its slot was free) to the end of its answer. */
  ms: number;
  /** The most requests of its lane in flight at once on the thread so far. */
  peak: number;
}

/** Agent options of the thread's sockets (transport.ts passes those of its own agents). */
export interface ThreadAgentOptions {
  keepAlive: boolean;
  keepAliveMsecs: number;
  scheduling: "lifo" | "fifo";
  timeout: number;
}

interface ProgramData {
  axiosPath: string;
  agentOptions: ThreadAgentOptions;
}

/**
 * The thread's program (run from its source text: self-contained). Per lane: a cap, the requests in flight and
 * two queues (urgent first). A free slot goes to the next queued request as soon as an answer has been read.
 */
export function ioThreadProgram(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- a worker started from source text has only require */
  const threads = require("node:worker_threads") as typeof import("node:worker_threads");
  const nodeHttp = require("node:http") as typeof import("node:http");
  const nodeHttps = require("node:https") as typeof import("node:https");
  const data = threads.workerData as ProgramData;
  const axiosModule = require(data.axiosPath) as typeof import("axios");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const port = threads.parentPort!;
  // The inline instance's settings (transport.ts RAW_TEXT_CONFIG: every status an answer, no redirect followed),
  // written again because functions do not cross threads; bytes, not text: the body crosses to the caller's thread
  // as a transferred buffer (no copy, no string on this heap), decoded there as axios decodes text (`decodeBody`).
  const client = axiosModule.default.create({
    responseType: "arraybuffer",
    transformResponse: [(body: unknown) => body],
    validateStatus: () => true,
    maxRedirects: 0,
    httpAgent: new nodeHttp.Agent(data.agentOptions),
    httpsAgent: new nodeHttps.Agent(data.agentOptions),
  });
  interface Lane {
    active: number;
    peak: number;
    readonly waiting: SendMessage[];
    readonly urgentWaiting: SendMessage[];
  }
  const lanes = new Map<number, Lane>();
  const laneOf = (id: number): Lane => {
    let lane = lanes.get(id);
    if (!lane) lanes.set(id, (lane = { active: 0, peak: 0, waiting: [], urgentWaiting: [] }));
    return lane;
  };
  const start = (lane: Lane, msg: SendMessage): void => {
    lane.active++;
    lane.peak = Math.max(lane.peak, lane.active);
    const started = performance.now();
    const settle = (answer: AnswerMessage): void => {
      // The slot is let go before the answer is posted: the next request leaves now.
      lane.active--;
      pump(lane, msg.max);
      // An idle lane is forgotten (a long-lived app sees many transports); its caller keeps the peak it was told.
      if (lane.active === 0 && lane.waiting.length === 0 && lane.urgentWaiting.length === 0) lanes.delete(msg.lane);
      port.postMessage(answer, answer.ok ? [answer.body.buffer as ArrayBuffer] : []);
    };
    client.request({ ...msg.config, method: msg.config.method.toLowerCase() }).then(
      (response) => {
        const raw = response.headers as unknown as { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
        const headers = typeof raw.toJSON === "function" ? raw.toJSON() : { ...raw };
        const data = response.data as unknown;
        // A buffer that owns its whole memory is handed over as is; a small one may share Node's pool, which must
        // stay here: it is copied.
        const body =
          data instanceof Uint8Array
            ? data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
              ? data
              : new Uint8Array(data)
            : new TextEncoder().encode(data == null ? "" : String(data));
        settle({ id: msg.id, ok: true, status: response.status, headers, body, ms: performance.now() - started, peak: lane.peak });
      },
      (error: unknown) => {
        const e = (error ?? {}) as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
        const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
        const failure: ThreadNetworkFailure = { code: text(e.code), message: text(e.message) };
        if (e.cause && typeof e.cause === "object") failure.cause = { code: text(e.cause.code), message: text(e.cause.message) };
        settle({ id: msg.id, ok: false, failure, ms: performance.now() - started, peak: lane.peak });
      },
    );
  };
  const pump = (lane: Lane, max: number): void => {
    while (lane.active < max) {
      const next = lane.urgentWaiting.shift() ?? lane.waiting.shift();
      if (!next) return;
      start(lane, next);
    }
  };
  port.on("message", (msg: SendMessage) => {
    const lane = laneOf(msg.lane);
    (msg.urgent ? lane.urgentWaiting : lane.waiting).push(msg);
    pump(lane, msg.max);
  });
}

/** Young-generation size of the I/O thread's heap (MB). */
export const IO_THREAD_YOUNG_GENERATION_MB = 4;

/** The process's Ion I/O thread: started on first use (or by `startIonIoThread`), kept while the process lives. */
export class IonIoThread {
  private static current: IonIoThread | undefined;
  private static lanes = 0;

  /** The shared thread, started if it is not running. */
  static shared(agentOptions: ThreadAgentOptions): IonIoThread {
    return (IonIoThread.current ??= new IonIoThread(agentOptions));
  }

  /** A lane id for a new transport. */
  static newLane(): number {
    return ++IonIoThread.lanes;
  }

  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (a: ThreadAnswer) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | undefined;

  private constructor(agentOptions: ThreadAgentOptions) {
    const workerData: ProgramData = { axiosPath: require.resolve("axios"), agentOptions };
    // A small young generation: what the thread holds is the answers in flight, whose bytes live outside its heap
    // and are handed over; a default-sized one added about 30 MB to the process's resident memory for nothing.
    this.worker = new Worker(`(${ioThreadProgram.toString()})()`, {
      eval: true,
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: IO_THREAD_YOUNG_GENERATION_MB },
    });
    // Idle, the thread must not keep the process alive; `ref` while an answer is awaited.
    this.worker.on("message", (answer: AnswerMessage) => this.onAnswer(answer));
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => this.fail(new Error(`the Ion I/O thread exited (code ${code})`)));
    this.worker.unref();
  }

  /**
   * Sends one request on `lane` (at most `max` of that lane in flight; `urgent` ones first). Rejects, with an
   * error carrying the `code` that `networkCodeOf` reads, when no answer came (ERR_IO_THREAD: the thread died).
   */
  send(lane: number, max: number, urgent: boolean, config: ThreadRequestConfig): Promise<ThreadAnswer> {
    if (this.failed) return Promise.reject(threadDied(this.failed));
    const id = ++this.nextId;
    return new Promise<ThreadAnswer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, lane, max, urgent, config } satisfies SendMessage);
    });
  }

  /** Stops the shared thread (its waiting requests fail with ERR_IO_THREAD); the next `shared` starts another. */
  static async stopShared(): Promise<void> {
    const thread = IonIoThread.current;
    if (!thread) return;
    thread.fail(new Error("stopped"));
    await thread.worker.terminate();
  }

  private onAnswer(answer: AnswerMessage): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker.unref();
    if (answer.ok) waiting.resolve({ status: answer.status, headers: answer.headers, body: answer.body, ms: answer.ms, peak: answer.peak });
    else waiting.reject(Object.assign(new Error(answer.failure.message ?? "network error"), answer.failure));
  }

  /**
   * The thread died: every waiting request fails with ERR_IO_THREAD (an unknown code: the retry policy treats it
   * as ambiguous, so only idempotent calls are sent again); the next `shared` starts a new thread.
   */
  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    if (IonIoThread.current === this) IonIoThread.current = undefined;
    for (const waiting of this.pending.values()) waiting.reject(threadDied(error));
    this.pending.clear();
  }
}

function threadDied(cause: Error): Error {
  return Object.assign(new Error(`the Ion I/O thread stopped: ${cause.message}`), { code: IO_THREAD_STOPPED });
}
