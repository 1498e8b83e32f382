import { redact } from "../src/shared/redact";

/**
 * Where the CLI writes. Human text by default; JSON with --json. Everything passes through redact(),
 * so a secret that slipped into a message never reaches the terminal.
 */
export interface Output {
  readonly isTTY: boolean;
  raw(text: string): void;
  rawErr(text: string): void;
  line(text?: string): void;
  error(text: string): void;
  json(value: unknown): void;
}

export function createOutput(
  stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Output {
  return {
    isTTY: Boolean(stdout.isTTY),
    raw: (text) => void stdout.write(redact(text)),
    rawErr: (text) => void stderr.write(redact(text)),
    line: (text = "") => void stdout.write(redact(text) + "\n"),
    error: (text) => void stderr.write("error: " + redact(text) + "\n"),
    json: (value) => void stdout.write(redact(JSON.stringify(value)) + "\n"),
  };
}

/** An Output that records everything; used by tests to assert what the CLI printed. */
export function memoryOutput(): Output & { stdout: string[]; stderr: string[]; text(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    isTTY: false,
    stdout,
    stderr,
    raw: (t) => void stdout.push(redact(t)),
    rawErr: (t) => void stderr.push(redact(t)),
    line: (t = "") => void stdout.push(redact(t) + "\n"),
    error: (t) => void stderr.push("error: " + redact(t) + "\n"),
    json: (v) => void stdout.push(redact(JSON.stringify(v)) + "\n"),
    text: () => stdout.join("") + stderr.join(""),
  };
}
