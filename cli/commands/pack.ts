import { existsSync } from "node:fs";
import * as path from "node:path";

import { packSolution } from "../../src/solution/pack";
import { defaultUiDir } from "../../src/solution/paths";
import type { Output } from "../output";

export async function runPackCommand(opts: { managed?: boolean; out?: string; json?: boolean }, out: Output): Promise<number> {
  // A clean checkout built by `npm ci` has build/ui; otherwise build the control and web resources first.
  const buildUi = !existsSync(path.join(defaultUiDir(), "pcf")) || !existsSync(path.join(defaultUiDir(), "webresources"));
  const result = await packSolution({ managed: Boolean(opts.managed), outDir: opts.out ?? "dist", buildUi });
  if (opts.json) out.json(result);
  else {
    out.line(`Packed ${result.unmanaged}`);
    if (result.managed) out.line(`Packed ${result.managed}`);
    out.line("Import it with `streamone-ion deploy --environment <url>` or the Power Apps maker portal (Solutions → Import).");
  }
  return 0;
}
