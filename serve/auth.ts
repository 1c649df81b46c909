/** Optional bearer-token auth. Keys are compared as SHA-256 digests with timingSafeEqual (constant time). */
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors.ts";

function digest(s: string): Uint8Array {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Returns a checker for the Authorization header; throws ApiError 401 when it does not carry `apiKey`. */
export function bearerChecker(apiKey: string): (authorization: string | null) => void {
  const expected = digest(apiKey);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const given = digest(m ? m[1] : "");
    // Always compare (even with no header) so timing does not reveal which check failed.
    const ok = timingSafeEqual(given, expected) && m !== null;
    if (!ok) {
      throw new ApiError(
        401,
        m
          ? "Incorrect API key provided."
          : "Missing API key: send the header `Authorization: Bearer <key>` (the key the server was started with).",
        "authentication_error",
        "invalid_api_key",
        null,
        { "www-authenticate": 'Bearer realm="gasp-ts"' },
      );
    }
  };
}
