/**
 * Start-up checks of the Azure app, imported first by index.ts: validates every setting once, so a
 * bad setting fails the app with a message naming it instead of failing each invocation later.
 */
import { app } from "@azure/functions";
import { loadConfig } from "./config";

loadConfig(process.env);
app.setup({ enableHttpStream: false });
