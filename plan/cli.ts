/**
 * `npm run plan [-- --stack <name>]`: runs the program offline (Pulumi mock runtime, realistic provider
 * answers, no cloud account, no Pulumi CLI) for one stack, or for every stack file when none is named, and prints
 * the resource tree with each resource's key settings, then evaluates the security-checklist policy pack the way
 * `pulumi preview --policy-pack policies` would and reports the findings (text, Markdown, JSON or SARIF).
 * Exit 1 when the program rejects the configuration or a mandatory policy is violated, 2 on a usage error.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { styleText } from "util";
import { ALL_POLICIES } from "../policies/catalog";
import type { PackConfig } from "../policies/pack-config";
import { stackPackConfig } from "./pack-config";
import { configFindings, outputFindings } from "./config-findings";
import { blocking, evaluate, Evaluation, Finding } from "./evaluate";
import { PROJECT } from "../lib/config-schema";
import { createHash } from "crypto";
import { writeHostFiles } from "./files";
import { mermaid } from "./graph";
import { locator } from "./locations";
import { FORMATS, Format, render, renderFailure } from "./report";
import { redactSecrets } from "./secrets";
import { forgetProgramModules, PlanRun, ROOT, runProgram } from "./run";
import { renderOutputs, renderTree } from "./tree";

const USAGE = `usage: npm run plan [-- --stack <name>] [--format text|markdown|json|sarif] [--output FILE]
                [--config project:key=value ...] [--phase both|update|first-deploy] [--policy-pack-config FILE]

Runs the program offline for one stack (or every stack file) and judges it with the policy pack.

  --stack, -s NAME          the stack (Pulumi.NAME.yaml); default: every stack file
  --format, -f FORMAT       text (default), markdown (PR comments), json (tools), sarif (code scanning)
  --output, -o FILE         write the report there (with --stack); the tree still goes to stdout
  --config, -c KEY=VALUE    a config value on top of the stack file, e.g. webapp:protect=false
  --phase PHASE             both (default), update, first-deploy (new resources' outputs unknown)
  --policy-pack-config FILE the levels and waivers (default policies/config/<stack>.json)
  --files DIR               write every file the hosts get to DIR/<server>/<path> (secrets are placeholders), with
                            a MANIFEST of modes, owners and steps, for review (with --stack)
  --help, -h                this text

Exit codes:
  0  every stack passed: no mandatory finding
  1  a mandatory finding, a rejected configuration, or a program that failed
  2  a usage error
`;

function usage(message?: string): never {
    if (message) process.stderr.write(`${message}\n`);
    process.stderr.write(USAGE);
    process.exit(2);
}

/**
 * `update`: every value known, as in an update of an existing stack. `first-deploy`: the preview of a first
 * deploy, where new resources' outputs and generated secrets are unknown, as the engine shows them to the pack.
 * `both` (default): the update, then the first deploy; the findings that only the first deploy has are added, so a
 * control the engine could not judge before the first update fails the plan too.
 */
type Phase = "update" | "first-deploy" | "both";
type Args = { stack?: string; format: Format; output?: string; overrides: Record<string, string>; phase: Phase; packConfigFile?: string; files?: string };

function parseArgs(argv: string[]): Args {
    const args: Args = { format: "text", overrides: {}, phase: "both" };
    const value = (i: number, flag: string) => argv[i] ?? usage(`${flag} needs a value`);
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].startsWith("--") && argv[i].includes("=") ? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)] : [argv[i], undefined];
        const next = () => inline ?? value(++i, flag);
        if (flag === "--stack" || flag === "-s") args.stack = next();
        else if (flag === "--format" || flag === "-f") {
            const f = next();
            if (!(FORMATS as readonly string[]).includes(f)) usage(`unknown format ${f} (text, markdown, json, sarif)`);
            args.format = f as Format;
        } else if (flag === "--output" || flag === "-o") args.output = next();
        else if (flag === "--config" || flag === "-c") {
            const kv = next();
            const eq = kv.indexOf("=");
            if (eq < 1 || !kv.slice(0, eq).includes(":")) usage(`--config takes project:key=value, got ${kv}`);
            args.overrides[kv.slice(0, eq)] = kv.slice(eq + 1);
        } else if (flag === "--policy-pack-config") args.packConfigFile = next();
        else if (flag === "--files") args.files = next();
        else if (flag === "--phase") {
            const p = next();
            if (!["update", "first-deploy", "both"].includes(p)) usage(`unknown phase ${p} (update, first-deploy, both)`);
            args.phase = p as Phase;
        } else if (flag === "--help" || flag === "-h") {
            process.stdout.write(USAGE);
            process.exit(0);
        }
        else usage(`unknown argument ${argv[i]}`);
    }
    if (args.output && !args.stack) usage("--output needs --stack");
    if (args.files && !args.stack) usage("--files needs --stack");
    return args;
}

/**
 * The text report as a terminal shows it: lines wrapped at the terminal's width (at most 120 columns; `COLUMNS`
 * sets it when stdout is not a terminal), continuation lines indented under their start, and levels and the
 * verdict in colour (on a terminal, or with FORCE_COLOR; never with NO_COLOR). Piped without COLUMNS, every
 * item stays on one line for grep.
 */
export function forTerminal(text: string, o: { width?: number; colour?: boolean } = {}): string {
    const terminal = Number(process.env.COLUMNS) || (process.stdout.isTTY ? process.stdout.columns : 0);
    const width = o.width ?? (terminal ? Math.min(terminal, 120) : Infinity);
    const colour = o.colour ?? (!process.env.NO_COLOR && (process.stdout.isTTY || !!process.env.FORCE_COLOR));
    const wrapped = text.split("\n").flatMap((line) => {
        if (line.length <= width) return [line];
        const indent = " ".repeat(Math.min((/^[\s│├└─]*/.exec(line)?.[0].length ?? 0) + 4, 40));
        const out: string[] = [];
        let rest = line;
        while (rest.length > width) {
            let cut = rest.lastIndexOf(" ", width);
            if (cut <= indent.length) cut = width;
            out.push(rest.slice(0, cut).trimEnd());
            rest = indent + rest.slice(cut).trimStart();
        }
        out.push(rest);
        return out;
    });
    const joined = wrapped.join("\n");
    if (!colour) return joined;
    return joined
        .replace(/\[mandatory\]/g, (m) => styleText("red", m))
        .replace(/\[advisory\]/g, (m) => styleText("yellow", m))
        .replace(/\[waived\]/g, (m) => styleText("cyan", m))
        .replace(/-> PASSED/g, (m) => styleText("green", m))
        .replace(/-> FAILED/g, (m) => styleText("red", m));
}

/** A digest of a resource's inputs with secrets redacted: equal digests, equal inputs (for the PR diff). */
const inputsDigest = (inputs: Record<string, unknown>) => createHash("sha256").update(JSON.stringify(redactSecrets(inputs))).digest("hex").slice(0, 16);

async function planOne(args: Args & { stack: string }): Promise<number> {
    const started = process.hrtime.bigint();
    try {
        return await judge(args, started);
    } catch (err) {
        // A rejected configuration or a failing program gives a red report in the requested format too, so that a
        // pull request's comment and code scanning never keep the previous run's green result.
        const error = (err as Error).message;
        process.stderr.write(`Plan for stack ${args.stack} failed:\n${error}\n`);
        const failure = renderFailure(args.format, { project: PROJECT, stack: args.stack, error });
        if (args.output) fs.writeFileSync(args.output, failure);
        else if (args.format !== "text") process.stdout.write(failure);
        return 1;
    }
}

/**
 * Both phases run in this process, one after the other: the update, then the first deploy with the program's
 * modules loaded afresh (as a new language host process would load them; the SDKs stay loaded).
 */
async function judge(args: Args & { stack: string }, started: bigint): Promise<number> {
    const run = await runProgram({ stack: args.stack, overrides: args.overrides, firstDeploy: args.phase === "first-deploy" });
    if (run.error) throw run.error;
    const pack = stackPackConfig({ root: ROOT, stack: args.stack, environment: run.config[`${run.project}:environment`] === "prod" ? "prod" : "staging", file: args.packConfigFile });
    const evaluation = judgeRun(args, run, pack);
    if (args.phase === "both") evaluation.findings.push(...(await firstDeployFindings(args, pack, evaluation.findings)));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const report = {
        project: run.project,
        stack: args.stack,
        evaluation,
        policies: ALL_POLICIES,
        resourceCount: run.resources.length,
        notConfigured: run.exampleValues,
        locate: locator({ root: ROOT, stack: args.stack, resources: run.resources }),
        resources: run.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, digest: inputsDigest(r.inputs) })),
        outputs: redactSecrets(run.outputs) as Record<string, unknown>,
        diagram: mermaid(run, evaluation.findings),
    };
    if (args.files && args.phase !== "first-deploy") writeHostFiles(run, args.files);
    const text = render("text", report);
    if (args.format === "text" || args.output) {
        process.stdout.write(
            forTerminal([
                `Plan for ${run.project}/${args.stack}: ${run.resources.length} resources (offline: mock providers, nothing is created) in ${ms.toFixed(0)} ms`,
                "",
                ...renderTree(run),
                "",
                "Outputs:",
                ...renderOutputs(run.outputs),
                "",
                text,
            ].join("\n")),
        );
    }
    if (args.output) fs.writeFileSync(args.output, render(args.format, report));
    else if (args.format !== "text") process.stdout.write(render(args.format, report));
    return blocking(evaluation).length ? 1 : 0;
}

/** The pack's evaluation of one phase's run, with the findings about the stack's config and outputs. */
function judgeRun(args: Args & { stack: string }, run: PlanRun, pack: PackConfig): Evaluation {
    const evaluation = evaluate(run, ALL_POLICIES, pack);
    const levelOf = (name: string) => {
        const entry = pack[name];
        return typeof entry === "object" ? entry.enforcementLevel ?? "mandatory" : entry;
    };
    evaluation.findings.unshift(...configFindings(args.stack, { ...run.config, ...args.overrides }, levelOf("sec-2-no-plaintext-secrets")), ...outputFindings(run, levelOf("sec-5-secrets-stay-secret")));
    return evaluation;
}

/** The first deploy's findings that the update phase (`seen`) does not have, marked as the first deploy's. */
async function firstDeployFindings(args: Args & { stack: string }, pack: PackConfig, seen: Finding[]): Promise<Finding[]> {
    forgetProgramModules();
    const run = await runProgram({ stack: args.stack, overrides: args.overrides, firstDeploy: true });
    if (run.error) throw new Error(`the first-deploy phase of ${args.stack} failed:\n${run.error.message}`);
    const key = (f: Finding) => `${f.policy}|${f.urn ?? ""}|${f.message}`;
    const known = new Set(seen.map(key));
    return judgeRun(args, run, pack)
        .findings.filter((f) => !known.has(key(f)))
        .map((f) => ({ ...f, message: `first deploy: ${f.message}` }));
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    if (args.stack) {
        process.exitCode = await planOne({ ...args, stack: args.stack });
        return;
    }
    // Every stack in its own process: the Pulumi runtime holds one stack per process. A machine format gives one
    // document for all of them.
    const stacks = fs.readdirSync(ROOT).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
    let failed = 0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-all-"));
    const docs: string[] = [];
    try {
        for (const s of stacks) {
            const file = path.join(dir, `${s}.${args.format}`);
            const own = args.format === "text" ? [] : ["--output", file];
            const child = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, "cli.ts"), ...process.argv.slice(2), ...own, "--stack", s], { stdio: args.format === "text" ? "inherit" : ["ignore", "ignore", "inherit"], cwd: ROOT });
            if (child.status !== 0) failed++;
            if (fs.existsSync(file)) docs.push(fs.readFileSync(file, "utf8"));
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    if (args.format === "json") process.stdout.write(JSON.stringify({ stacks: docs.map((d) => JSON.parse(d)) }, null, 2) + "\n");
    else if (args.format === "sarif") {
        const logs = docs.map((d) => JSON.parse(d));
        process.stdout.write(JSON.stringify({ ...logs[0], runs: logs.flatMap((l) => l.runs) }, null, 2) + "\n");
    } else if (args.format === "markdown") process.stdout.write(docs.join("\n"));
    process.exitCode = failed ? 1 : 0;
}

void main();
