/**
 * Entry point of the functions app (package.json "main" points at its compiled file,
 * build/functions/index.js). Imports run in order: settings are validated first, then every
 * function file registers itself.
 */
import "./startup";
import "./dataverseWebhook";
import "./syncWorker";
import "./scheduledSync";
import "./tokenKeepAlive";
