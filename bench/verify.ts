/**
 * `npm run bench:verify`: how long `npm run verify`'s read-only probe runs on a converged host (goal: <= 10 s per
 * host on two cores), and what the converge costs: the first `pulumi up` of the staging stack on a fresh Debian 12
 * VM and a second `up` that runs no step. The VM and the converge are the end-to-end test's own
 * (tests/support/single-host.ts); the host's first daily backup runs, as on a host a day old; then verify runs
 * BENCH_ROUNDS times as a user runs it, each round's probe time (the host's side, without the SSH connection) and
 * wall time recorded. Each round must be clean, so the figure is the probe of a converged host, not of a failing
 * one.
 *
 * Options (environment): BENCH_ROUNDS (default 5), BENCH_OUT (default bench/results/verify.json).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { convergedSingleHost, runVerify, STACK } from "../tests/support/single-host";
import { median } from "./stats";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const out = process.env.BENCH_OUT ?? path.join(__dirname, "results", "verify.json");
const GOAL_MS = 10_000;

async function main(): Promise<void> {
    const host = await convergedSingleHost();
    try {
        if (!host.first.ok) throw new Error(`the first pulumi up failed: ${host.first.error}`);
        const second = await host.engine.run({ stack: STACK, op: "up", expectNoChanges: true });
        if (!second.ok) throw new Error(`the second pulumi up found changes or failed: ${second.error}`);
        // A host a day old has its first nightly backup (BK-8 names a host without one): run it now, as the e2e does.
        const backup = host.vm.ssh("sudo systemctl start webapp-backup@daily.service");
        if (backup.status !== 0) throw new Error(`the daily backup failed: ${backup.stderr}`);
        const probeMs: number[] = [];
        const wallMs: number[] = [];
        const sections: Record<string, number>[] = [];
        for (let i = 0; i < rounds; i++) {
            const started = process.hrtime.bigint();
            const { status, report } = runVerify(host);
            wallMs.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (status !== 0 || report.findings.length > 0) throw new Error(`verify is not clean on the converged host (exit ${status}): ${JSON.stringify(report.findings)}`);
            probeMs.push(report.hosts[0].probeMs);
            sections.push(report.hosts[0].sectionMs);
            process.stderr.write(`round ${i + 1}/${rounds}: probe ${probeMs[i]} ms, verify ${wallMs[i].toFixed(0)} ms\n`);
        }
        const result = {
            date: new Date().toISOString(),
            machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, accel: "tcg" },
            rounds,
            goalMs: GOAL_MS,
            medianMs: { probe: median(probeMs), verify: median(wallMs) },
            meetsGoal: median(probeMs) <= GOAL_MS,
            runs: { probeMs, verifyMs: wallMs },
            /** The probe's sections in the round closest to the median. */
            sectionMs: sections[probeMs.indexOf(median(probeMs))],
            converge: { firstUpMs: host.first.ms, secondUpMs: second.ms },
        };
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${JSON.stringify({ medianMs: result.medianMs, goalMs: GOAL_MS, meetsGoal: result.meetsGoal, converge: result.converge })}\n`);
    } finally {
        await host.dispose();
    }
}

main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
