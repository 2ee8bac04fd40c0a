/**
 * `npm run bench:engine`: what the policy pack costs a user on every `pulumi preview` and `pulumi up`. The real
 * engine (the CLI .ci/run builds, stand-in providers; tests/engine) previews the prod stack on an empty state
 * with the pack and without it, and an empty program without it (the engine's fixed cost), in paired rounds.
 * Goals (issue 18): the preview with the pack within 2x the empty program's, and the pack adding <= 0.5 s. Each
 * run is a whole `pulumi preview` as a user starts it: the program loaded as the Node.js language host loads it
 * (ts-node with the project's tsconfig.json, whose "ts-node" options make it transpile only), the CLI, the
 * providers (here test stand-ins in Node.js, where the real ones are Go binaries), and the pack (compiled,
 * policies/dist).
 *
 * Options (environment): BENCH_ROUNDS (default 5), BENCH_STACK (default prod), BENCH_OUT (default
 * bench/results/engine.json).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLI_VERSION, Engine, EngineResult, ownValues, policyEvents, ROOT } from "../tests/engine/engine";
import { median } from "./stats";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const stack = process.env.BENCH_STACK ?? "prod";
const out = process.env.BENCH_OUT ?? path.join(__dirname, "results", "engine.json");
/** The preview with the pack against the empty program's, and the pack's own cost. */
const RATIO_GOAL = 2;
const PACK_GOAL_MS = 500;

async function timed(engine: Engine, run: () => Promise<EngineResult>): Promise<number> {
    engine.forget(stack);
    const started = process.hrtime.bigint();
    const r = await run();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!r.ok) throw new Error(`preview failed: ${r.error}`);
    if (policyEvents(r).some((p) => /can't run/.test(p.message))) throw new Error("a policy could not run at preview");
    return ms;
}

async function main(): Promise<void> {
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "policies")], { stdio: "inherit" });
    const engine = new Engine();
    try {
        const sides = { withPack: [] as number[], withoutPack: [] as number[], emptyProgram: [] as number[] };
        // One warm-up round: the first start pays the disk cache.
        await timed(engine, () => engine.run({ stack, op: "preview", config: ownValues(stack) }));
        for (let i = 0; i < rounds; i++) {
            sides.withPack.push(await timed(engine, () => engine.run({ stack, op: "preview", config: ownValues(stack) })));
            sides.withoutPack.push(await timed(engine, () => engine.run({ stack, op: "preview", config: ownValues(stack), policyPack: false })));
            sides.emptyProgram.push(await timed(engine, () => engine.run({ stack, op: "preview", policyPack: false, program: "empty" })));
            process.stderr.write(`round ${i + 1}/${rounds}: with ${sides.withPack[i].toFixed(0)} ms, without ${sides.withoutPack[i].toFixed(0)} ms, empty ${sides.emptyProgram[i].toFixed(0)} ms\n`);
        }
        const packCost = sides.withPack.map((w, i) => w - sides.withoutPack[i]);
        const result = {
            date: new Date().toISOString(),
            machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
            cli: CLI_VERSION,
            stack,
            rounds,
            medianMs: { withPack: median(sides.withPack), withoutPack: median(sides.withoutPack), emptyProgram: median(sides.emptyProgram) },
            packCostMs: { median: median(packCost), paired: packCost },
            ratioToEmpty: median(sides.withPack) / median(sides.emptyProgram),
            goals: { ratioToEmpty: RATIO_GOAL, packCostMs: PACK_GOAL_MS },
            meetsGoals: { ratioToEmpty: median(sides.withPack) / median(sides.emptyProgram) <= RATIO_GOAL, packCostMs: median(packCost) <= PACK_GOAL_MS },
            runs: sides,
        };
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${JSON.stringify({ medianMs: result.medianMs, packCostMs: result.packCostMs.median, ratioToEmpty: result.ratioToEmpty, goals: result.goals, meetsGoals: result.meetsGoals })}\n`);
    } finally {
        engine.dispose();
    }
}

void main();
