/**
 * `npm run -s plan-diff -- <base.json> <base files> <head.json> <head files>`: what a pull request changes, for its
 * comment. From two offline plans of one stack (`npm run plan -- --format json --output X.json --files DIR`, on the
 * base and on the head): the resources added, changed (their inputs' digest differs) and removed, and a unified
 * diff of every host file that changed (`diff -u`; the files hold placeholders, never secrets). Long diffs are
 * collapsed. A missing base (a base that predates `--files`, or whose plan failed) is said, not guessed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

type PlanDoc = { stack: string; resources?: { urn: string; type: string; name: string; digest?: string }[] };

const walk = (dir: string, base = dir): string[] =>
    fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))])) : [];

/** The unified diff of one file (empty when equal), with the host path as the label on both sides. */
function unified(baseFile: string, headFile: string, label: string): string {
    const res = spawnSync("diff", ["-u", "--label", `a/${label}`, "--label", `b/${label}`, fs.existsSync(baseFile) ? baseFile : "/dev/null", fs.existsSync(headFile) ? headFile : "/dev/null"], { encoding: "utf8" });
    if (res.status === 2 || res.error) throw new Error(`diff failed on ${label}: ${res.stderr || res.error?.message}`);
    return res.stdout;
}

export function planDiff(o: { base?: PlanDoc; baseFiles: string; head: PlanDoc; headFiles: string }): { markdown: string; changedFiles: string[]; added: string[]; changed: string[]; removed: string[] } {
    const title = `#### What this pull request changes in \`${o.head.stack}\``;
    if (!o.base?.resources) return { markdown: `${title}\n\nThe base branch has no plan to compare with (its plan failed or predates this report).\n`, changedFiles: [], added: [], changed: [], removed: [] };
    const before = new Map(o.base.resources.map((r) => [r.urn, r]));
    const after = new Map(o.head.resources!.map((r) => [r.urn, r]));
    const label = (r: { type: string; name: string }) => `\`${r.name}\` (${r.type})`;
    const added = [...after.values()].filter((r) => !before.has(r.urn)).map(label);
    const removed = [...before.values()].filter((r) => !after.has(r.urn)).map(label);
    const changed = [...after.values()].filter((r) => before.has(r.urn) && before.get(r.urn)!.digest !== r.digest).map(label);
    const files = [...new Set([...walk(o.baseFiles), ...walk(o.headFiles)])].sort();
    const diffs = files.map((f) => ({ file: f, diff: unified(path.join(o.baseFiles, f), path.join(o.headFiles, f), f) })).filter((d) => d.diff);
    const out = [title, ""];
    if (!added.length && !changed.length && !removed.length && !diffs.length) out.push("No resource and no host file changes.");
    for (const [what, list] of [["Added", added], ["Changed", changed], ["Removed", removed]] as const) if (list.length) out.push(`**${what}:** ${list.join(", ")}`, "");
    if (diffs.length) {
        const body = diffs.map((d) => d.diff.trimEnd()).join("\n");
        const block = ["```diff", body.replace(/```/g, "'''"), "```"];
        const summary = `Host files changed: ${diffs.map((d) => `\`${d.file}\``).join(", ")}`;
        out.push(...(body.split("\n").length > 40 ? [`<details><summary>${summary}</summary>`, "", ...block, "", "</details>"] : [summary, "", ...block]));
    }
    return { markdown: out.join("\n") + "\n", changedFiles: diffs.map((d) => d.file), added, changed, removed };
}

if (require.main === module) {
    const [baseJson, baseFiles, headJson, headFiles] = process.argv.slice(2);
    if (!headJson || !headFiles) {
        process.stderr.write("usage: npm run -s plan-diff -- <base.json> <base files> <head.json> <head files>\n");
        process.exit(2);
    }
    const read = (f: string) => (f && fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as PlanDoc) : undefined);
    process.stdout.write(planDiff({ base: read(baseJson), baseFiles, head: read(headJson)!, headFiles }).markdown);
}
