/**
 * @module `bun scripts/peak-rss.ts OUT -- COMMAND...`: runs COMMAND (stdio inherited) and writes
 * its peak RSS in bytes to the file OUT, then exits with its exit code.
 *
 * Why a launcher: Linux carries a process's peak RSS across fork and exec (the kernel records the
 * old image's high-water mark into the new one's `ru_maxrss`), so a CLI spawned straight from the
 * benchmark, whose emulators hold the whole organisation (2 GB at size l), reports the
 * benchmark's size, not its own. Spawned from this small process, it starts from this one's
 * ~40 MB, below any CLI run's own peak.
 */
import { argv } from "node:process";

const [out, separator, ...command] = argv.slice(2);
if (!out || separator !== "--" || command.length === 0) {
  process.stderr.write("usage: bun scripts/peak-rss.ts OUT -- COMMAND...\n");
  process.exit(2);
}
const child = Bun.spawn(command, { stdio: ["inherit", "inherit", "inherit"] });
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => child.kill(signal));
const code = await child.exited;
await Bun.write(out, `${child.resourceUsage()?.maxRSS ?? ""}\n`);
process.exit(code);
