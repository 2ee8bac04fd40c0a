/**
 * `npm run bench:policies`: (1) the policy pack's evaluation cost per resource on recorded runs of the prod stack
 * and of a ten-server AWS variant (goal < 1 ms per resource); (2) the wall time of `npm run plan -- --stack prod`
 * against the bare cost of starting ts-node and loading the SDKs the program uses (goal <= 1.5x).
 *
 * Options (environment): BENCH_ITERATIONS (default 30), BENCH_ROUNDS (process starts per side, default 5),
 * BENCH_OUT (default bench/results/policies.json).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { evaluate } from "../plan/evaluate";
import { PlanRun, ROOT } from "../plan/run";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";

const iterations = Number(process.env.BENCH_ITERATIONS ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const out = process.env.BENCH_OUT ?? path.join(__dirname, "results", "policies.json");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tsNode = [path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js"), "--transpile-only"];

/** A recorded run, made in a child process (the Pulumi runtime holds one stack per process). */
function record(stack: string, overrides: Record<string, string>): PlanRun {
    const script = `const { runProgram } = require("./plan/run"); runProgram({ stack: ${JSON.stringify(stack)}, overrides: ${JSON.stringify(overrides)} }).then((r) => process.stdout.write(JSON.stringify(r)));`;
    const res = spawnSync(process.execPath, [...tsNode, "-e", script], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout);
}

function evaluationCost(name: string, run: PlanRun) {
    const config = packConfig(run.stack);
    evaluate(run, ALL_POLICIES, config); // warm-up
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) times.push(evaluate(run, ALL_POLICIES, config).elapsedMs);
    const resources = run.resources.length;
    return { name, resources, policies: ALL_POLICIES.length, medianMs: median(times), perResourceMs: median(times) / resources };
}

function wallTime(args: string[]): number[] {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
        const start = process.hrtime.bigint();
        const res = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
        if (res.status !== 0 && res.status !== 1) throw new Error(res.stderr);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times;
}

const prod = record("prod", {});
const fleet = record("prod", { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "10" });
const cost = [evaluationCost("prod", prod), evaluationCost("prod, aws, 10 servers, rds", fleet)];

/**
 * The bare cost: ts-node, the SDK packages, and every resource class the prod program registers (the provider SDKs
 * load their modules lazily, on first use of a class), and nothing of ours.
 */
const classes = [...new Set(prod.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:")).map((r) => r.type))].map((t) => {
    const [pkg, modFile, cls] = t.split(":");
    const mod = modFile.split("/")[0];
    return `require("@pulumi/${pkg}")${mod === "index" ? "" : `[${JSON.stringify(mod)}]`}[${JSON.stringify(cls)}]`;
});
const sdkLoad = `require("@pulumi/pulumi"); require("yaml"); require("zod"); for (const c of [${classes.join(", ")}]) if (typeof c !== "function") throw new Error("missing class");`;
const bare = wallTime([...tsNode, "-e", sdkLoad]);
const planTimes = wallTime([...tsNode, "plan/cli.ts", "--stack", "prod"]);
const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    evaluation: cost,
    wall: { rounds, bareSdkLoadMs: median(bare), planProdMs: median(planTimes), ratio: median(planTimes) / median(bare), bareRuns: bare, planRuns: planTimes },
};
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
process.stdout.write(
    [
        ...cost.map((c) => `evaluation (${c.name}): ${c.policies} policies over ${c.resources} resources in ${c.medianMs.toFixed(1)} ms = ${c.perResourceMs.toFixed(3)} ms per resource (goal < 1)`),
        `plan --stack prod: ${result.wall.planProdMs.toFixed(0)} ms; bare SDK load: ${result.wall.bareSdkLoadMs.toFixed(0)} ms; ratio ${result.wall.ratio.toFixed(2)} (goal <= 1.5)`,
        `results: ${out}`,
        "",
    ].join("\n"),
);
