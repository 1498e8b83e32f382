/**
 * Start-up checks of the Azure app, imported first by index.ts: validates every setting once, so a
 * bad setting fails the app with a message naming it instead of failing each invocation later.
 */
import { app } from "@azure/functions";

import { tuneHeapGrowth } from "../src/shared/heap";
import { loadConfig } from "./config";

// A sync streams pages of garbage: keep the heap near its live set (src/shared/heap.ts, issue 8).
tuneHeapGrowth();

loadConfig(process.env);
app.setup({ enableHttpStream: false });
