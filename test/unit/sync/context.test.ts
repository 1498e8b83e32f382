import fc from "fast-check";

import { IonTokenSaveError } from "../../../src/ion";
import { forgetSecrets, registerSecret } from "../../../src/shared/redact";
import {
  isTokenSaveFailureMessage,
  STATUS_MESSAGE_MAX_LENGTH,
  TOKEN_SAVE_FAILURE_MARKER,
  tokenSaveFailureStatusMessage,
} from "../../../src/sync/context";

describe("the token-save failure marker on the connector's status message", () => {
  it("is the IonTokenSaveError code in brackets, written first", () => {
    expect(TOKEN_SAVE_FAILURE_MARKER).toBe("[ION_TOKEN_SAVE_FAILED]");
    expect(TOKEN_SAVE_FAILURE_MARKER).toBe(`[${new IonTokenSaveError("x").code}]`);
    expect(tokenSaveFailureStatusMessage("Saving failed.")).toBe("[ION_TOKEN_SAVE_FAILED] Saving failed.");
  });

  it("survives the column's length limit", () => {
    const message = tokenSaveFailureStatusMessage("x".repeat(3000));
    expect(message).toHaveLength(STATUS_MESSAGE_MAX_LENGTH);
    expect(isTokenSaveFailureMessage(message)).toBe(true);
  });

  it("redacts the text before cutting it to the column's length (a secret across the cut never shows)", () => {
    registerSecret("s3cr3t-client-value");
    try {
      const message = tokenSaveFailureStatusMessage(`${"x".repeat(STATUS_MESSAGE_MAX_LENGTH - 30)} s3cr3t-client-value`);
      expect(message).toHaveLength(STATUS_MESSAGE_MAX_LENGTH);
      expect(message).not.toContain("s3cr3t");
      expect(tokenSaveFailureStatusMessage("saving s3cr3t-client-value failed")).toBe("[ION_TOKEN_SAVE_FAILED] saving [REDACTED] failed");
    } finally {
      forgetSecrets();
    }
  });

  it("recognises any wording behind the marker", () => {
    fc.assert(fc.property(fc.string(), (text) => isTokenSaveFailureMessage(tokenSaveFailureStatusMessage(text))));
  });

  it("does not recognise free text, however close to a token-save message", () => {
    for (const message of [
      undefined,
      "",
      "The rotated refresh token could not be saved to the connector.",
      "Connected: the rotated refresh token an earlier run could not save has now been saved; syncs work again.",
      "StreamOne Ion rejected the refresh token (expired or already used). Use Request New Credentials.",
      "Warning: [ION_TOKEN_SAVE_FAILED] not at the start",
      "[ion_token_save_failed] lower case",
    ]) {
      expect(isTokenSaveFailureMessage(message)).toBe(false);
    }
  });

  it("still recognises the two messages versions before the marker wrote (legacy fallback)", () => {
    const legacyRows = [
      "StreamOne Ion issued a new refresh token, but it could not be saved to the connector (An unexpected error occurred.). The previous refresh token is now used up. " +
        "This process keeps the new token in memory and saves it on its next call; if the service restarts first, the connector stops working: Use Request New Credentials.",
      "A rotated StreamOne Ion refresh token that an earlier run could not save is still waiting to be saved, and saving it failed again (An unexpected error occurred.). " +
        "This process keeps it in memory and tries again on its next call.",
    ];
    for (const row of legacyRows) expect(isTokenSaveFailureMessage(row)).toBe(true);
  });
});
