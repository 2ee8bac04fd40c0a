/**
 * `npm run bench:policies`: (1) the policy pack's evaluation cost per resource on recorded runs of the prod stack
 * and of a ten-server AWS variant (goal <= 0.25 ms per resource, each evaluation meeting its scripts for the first time); (2) the wall time of `npm run plan -- --stack prod`
 * against the bare cost of starting ts-node and loading the SDKs the program uses (goal <= 1.5x); (3) how the
 * program's run and the pack's evaluation grow with a Hetzner fleet of 1, 3 and 10 app servers (goal: no faster than
 * linearly: a server added from 3 to 10 costs no more than one added from 1 to 3), both as the program's run with the
 * pack's evaluation and as the wall time of `npm run plan` with the fleet's config.
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
import { forgetTexts } from "../policies/parse";
import { median } from "./stats";

const iterations = Number(process.env.BENCH_ITERATIONS ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** Milliseconds of policy evaluation per resource (issue 18). */
const EVALUATION_GOAL_MS = 0.25;
const out = process.env.BENCH_OUT ?? path.join(__dirname, "results", "policies.json");
/** ts-node as `npm run plan` runs it (package.json: `ts-node --swc`). */
const tsNode = [path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js"), "--swc"];

/**
 * A recorded run, made in a child process (the Pulumi runtime holds one stack per process), with the time the
 * program's run took there (after ts-node and the SDKs are loaded).
 */
function timedRecord(stack: string, overrides: Record<string, string>): { run: PlanRun; runMs: number } {
    const script = `const { runProgram } = require("./plan/run"); const t = process.hrtime.bigint(); runProgram({ stack: ${JSON.stringify(stack)}, overrides: ${JSON.stringify(overrides)} }).then((r) => process.stdout.write(JSON.stringify({ run: r, runMs: Number(process.hrtime.bigint() - t) / 1e6 })));`;
    const res = spawnSync(process.execPath, [...tsNode, "-e", script], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(res.stderr);
    const recorded = JSON.parse(res.stdout) as { run: PlanRun; runMs: number };
    // A refused config registers almost nothing: its evaluation would measure nothing.
    if (recorded.run.error) throw new Error(`the program failed for ${stack} ${JSON.stringify(overrides)}: ${JSON.stringify(recorded.run.error)}`);
    return recorded;
}
const record = (stack: string, overrides: Record<string, string>): PlanRun => timedRecord(stack, overrides).run;

/**
 * One evaluation as a pack process makes it: every script and file met for the first time (the pack's text caches
 * emptied before each), so the figure includes parsing them once.
 */
function evaluationCost(name: string, run: PlanRun) {
    const config = packConfig(run.stack);
    evaluate(run, ALL_POLICIES, config); // warm-up of the code itself
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
        forgetTexts();
        times.push(evaluate(run, ALL_POLICIES, config).elapsedMs);
    }
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

/**
 * For a Hetzner fleet of `servers`: the program's run (median of `rounds` processes), the pack's evaluation, and the
 * wall time of `npm run plan -- --stack prod` with the fleet's config.
 */
function fleetScaling(servers: number) {
    const overrides = { "webapp:serverCount": String(servers), "webapp:databaseHost": "dedicated", "webapp:uploadsMode": "none" };
    const runs = Array.from({ length: rounds }, () => timedRecord("prod", overrides));
    const evaluation = evaluationCost(`fleet of ${servers}`, runs[0].run);
    const plan = wallTime([...tsNode, "plan/cli.ts", "--stack", "prod", ...Object.entries(overrides).flatMap(([k, v]) => ["--config", `${k}=${v}`])]);
    return { servers, resources: runs[0].run.resources.length, programRunMs: median(runs.map((r) => r.runMs)), evaluationMs: evaluation.medianMs, planWallMs: median(plan) };
}

type Scaled = ReturnType<typeof fleetScaling>;
/** Cost per added server from 1 to 3 and from 3 to 10; linear or better when the second is not above the first. */
function perServer(fleets: Scaled[], key: "programRunMs" | "evaluationMs" | "planWallMs") {
    const [one, three, ten] = fleets;
    const early = (three[key] - one[key]) / 2;
    const late = (ten[key] - three[key]) / 7;
    return { from1to3: early, from3to10: late, linear: late <= early * 1.1 };
}

const prod = record("prod", {});
const fleet = record("prod", { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "10", "webapp:uploadsMode": "none" });
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
const scaling = [1, 3, 10].map(fleetScaling);
const marginal = { programRunMs: perServer(scaling, "programRunMs"), evaluationMs: perServer(scaling, "evaluationMs"), planWallMs: perServer(scaling, "planWallMs") };
const bare = wallTime([...tsNode, "-e", sdkLoad]);
const planTimes = wallTime([...tsNode, "plan/cli.ts", "--stack", "prod"]);
const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    evaluation: cost.map((c) => ({ ...c, goalMs: EVALUATION_GOAL_MS, meetsGoal: c.perResourceMs <= EVALUATION_GOAL_MS })),
    fleetScaling: { fleets: scaling, msPerAddedServer: marginal },
    wall: { rounds, bareSdkLoadMs: median(bare), planProdMs: median(planTimes), ratio: median(planTimes) / median(bare), bareRuns: bare, planRuns: planTimes },
};
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
process.stdout.write(
    [
        ...cost.map((c) => `evaluation (${c.name}): ${c.policies} policies over ${c.resources} resources in ${c.medianMs.toFixed(1)} ms = ${c.perResourceMs.toFixed(3)} ms per resource (goal <= ${EVALUATION_GOAL_MS})`),
        ...scaling.map((f) => `fleet of ${f.servers}: ${f.resources} resources; program run ${f.programRunMs.toFixed(0)} ms, evaluation ${f.evaluationMs.toFixed(1)} ms, npm run plan ${f.planWallMs.toFixed(0)} ms`),
        ...Object.entries(marginal).map(([k, m]) => `${k} per added server: ${m.from1to3.toFixed(1)} ms (1 to 3), ${m.from3to10.toFixed(1)} ms (3 to 10): ${m.linear ? "linear or better" : "GROWS FASTER THAN LINEAR"}`),
        `plan --stack prod: ${result.wall.planProdMs.toFixed(0)} ms; bare SDK load: ${result.wall.bareSdkLoadMs.toFixed(0)} ms; ratio ${result.wall.ratio.toFixed(2)} (goal <= 1.5)`,
        `results: ${out}`,
        "",
    ].join("\n"),
);
