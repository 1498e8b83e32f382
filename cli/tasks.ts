import type { Output } from "./output";

/**
 * A live task list for long CLI jobs: on a terminal each step shows a spinner line that is replaced by
 * its result; elsewhere (CI logs, pipes) plain "▶ step" / "✔ step (1.2 s)" lines.
 */
export interface TaskList {
  step<T>(title: string, work: () => Promise<{ value: T; detail?: string; lines?: string[] }>): Promise<T>;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function createTaskList(out: Output, o: { quiet?: boolean } = {}): TaskList {
  return {
    async step(title, work) {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      if (o.quiet) {
        // JSON mode: no progress text on stdout.
      } else if (out.isTTY) {
        let i = 0;
        const draw = () => out.raw(`\r\x1b[2K${FRAMES[i++ % FRAMES.length]} ${title} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        draw();
        timer = setInterval(draw, 100);
      } else {
        out.line(`▶ ${title}`);
      }
      try {
        const result = await work();
        const secs = ((Date.now() - t0) / 1000).toFixed(1);
        if (!o.quiet) {
          if (timer) out.raw("\r\x1b[2K");
          out.line(`✔ ${title} (${secs} s)${result.detail ? `\n    ${result.detail}` : ""}`);
          for (const l of result.lines ?? []) out.line(`      ${l}`);
        }
        return result.value;
      } catch (error) {
        if (!o.quiet) {
          if (timer) out.raw("\r\x1b[2K");
          out.line(`✖ ${title}`);
        }
        throw error;
      } finally {
        if (timer) clearInterval(timer);
      }
    },
  };
}
