/**
 * `npm run -s rotation -- --stack <name>`: the rotation generation of a stack's secrets now, and when the next one
 * starts, as `generation=N` and `next=<ISO time>` lines (GitHub Actions' `$GITHUB_OUTPUT` format). The deploy
 * workflow records it when prod's plan is approved and refuses to apply across a rotation boundary; the drift
 * workflow compares it with the last deploy's (`pulumi stack output secretRotationGeneration`).
 */
import { validateConfig } from "../lib/config-schema";
import { nextRotation, rotationGeneration } from "../lib/rotation";
import { readRawConfig, ROOT } from "../plan/run";

const at = process.argv.indexOf("--stack");
const stack = at >= 0 ? process.argv[at + 1] : undefined;
if (!stack) {
    process.stderr.write("usage: npm run -s rotation -- --stack <name>\n");
    process.exit(2);
}
const days = validateConfig(readRawConfig(ROOT, stack), stack).secretRotationDays;
const now = new Date();
process.stdout.write(`generation=${rotationGeneration(now, days)}\nnext=${nextRotation(now, days).toISOString()}\n`);
