/**
 * `npm run plan [-- --stack <name>]`: runs the program offline (Pulumi mock runtime, realistic provider
 * answers, no cloud account, no Pulumi CLI) for one stack, or for every stack file when none is named, and prints
 * the resource tree with each resource's key settings. Exit 1 when the program rejects the configuration.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, runProgram } from "./run";
import { renderOutputs, renderTree } from "./tree";

function usage(message?: string): never {
    if (message) process.stderr.write(`${message}\n`);
    process.stderr.write("usage: npm run plan [-- --stack <name>]\n");
    process.exit(2);
}

function parseArgs(argv: string[]): { stack?: string } {
    const args: { stack?: string } = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--stack" || arg === "-s") {
            args.stack = argv[++i] ?? usage("--stack needs a name");
        } else if (arg.startsWith("--stack=")) {
            args.stack = arg.slice("--stack=".length);
        } else if (arg === "--help" || arg === "-h") {
            usage();
        } else {
            usage(`unknown argument ${arg}`);
        }
    }
    return args;
}

async function planOne(stack: string): Promise<number> {
    const started = process.hrtime.bigint();
    try {
        const run = await runProgram({ stack });
        if (run.error) throw run.error;
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const out = [
            `Plan for ${run.project}/${stack}: ${run.resources.length} resources (offline: mock providers, nothing is created) in ${ms.toFixed(0)} ms`,
            "",
            ...renderTree(run),
            "",
            "Outputs:",
            ...renderOutputs(run.outputs),
            "",
        ];
        process.stdout.write(out.join("\n"));
        return 0;
    } catch (err) {
        process.stderr.write(`Plan for stack ${stack} failed:\n${(err as Error).message}\n`);
        return 1;
    }
}

async function main(): Promise<void> {
    const { stack } = parseArgs(process.argv.slice(2));
    if (stack) {
        process.exitCode = await planOne(stack);
        return;
    }
    // Every stack in its own process: the Pulumi runtime holds one stack per process.
    const stacks = fs.readdirSync(ROOT).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
    let failed = 0;
    for (const s of stacks) {
        const child = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, "cli.ts"), "--stack", s], { stdio: "inherit", cwd: ROOT });
        if (child.status !== 0) failed++;
    }
    process.exitCode = failed ? 1 : 0;
}

void main();
