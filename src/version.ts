/**
 * @module The release version and commit. `bun build --define` replaces the two globals in
 * release binaries; from sources they fall back to package.json's version and "dev".
 */
import pkg from "../package.json" with { type: "json" };

declare const IDPSCIM_BUILD_VERSION: string | undefined;
declare const IDPSCIM_BUILD_COMMIT: string | undefined;

const version = typeof IDPSCIM_BUILD_VERSION === "string" ? IDPSCIM_BUILD_VERSION : pkg.version;
const commit = typeof IDPSCIM_BUILD_COMMIT === "string" ? IDPSCIM_BUILD_COMMIT : "dev";

export const VERSION = `${version} (${commit})`;
