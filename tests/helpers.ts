/**
 * Shared test helpers: run the real program under mocks, read stack files, call real tools.
 */
import { fillPlaceholders, ManagedFile, parseApplyScript, parsePayload, scriptOfCommand } from "../lib/render/apply-script";
import { unwrapSecrets } from "../plan/secrets";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { PlanRun, RecordedResource, RunOptions } from "../plan/run";
import { readRawConfig, ROOT } from "../plan/run";
import type { RawConfig } from "../lib/config-schema";

// Every isolated Pulumi runtime adds its own process exit hooks; a test file runs a dozen of them.
process.setMaxListeners(100);

/**
 * The SDK entry points the program and plan/run require. A test file loads them once; every program run of the file
 * gets those instances, as `npm run plan`'s second phase does (plan/run.ts `forgetProgramModules`). Each run sets its
 * own mocks and its whole config (`setMocks`, `setAllConfig`), and the runtime keeps its state on the global object,
 * which the runs of a file share with or without a registry of their own. An entry missing here would load a second
 * copy of part of the SDK in the run's registry; tests/helpers.test.ts holds the list to the program's imports.
 */
export const SHARED_SDK_MODULES = [
    "@pulumi/pulumi",
    "@pulumi/pulumi/log",
    "@pulumi/pulumi/runtime/state",
    "@pulumi/pulumi/runtime/debuggable",
    "@pulumi/pulumi/runtime/rpc",
    "@pulumi/aws",
    "@pulumi/hcloud",
    "@pulumi/command",
    "@pulumi/random",
] as const;
let sdkShared = false;
function shareSdk(): void {
    if (sdkShared) return;
    sdkShared = true;
    const loaded = SHARED_SDK_MODULES.map((m) => [m, jest.requireActual(m)] as const);
    for (const [m, mod] of loaded) jest.doMock(m, () => mod);
}

/**
 * Runs a program (default: index.ts) for a stack in a fresh module registry: the program's own modules load afresh
 * (its config is read at load), the SDK's are the file's (`SHARED_SDK_MODULES`). A `program` function runs inside
 * that registry: require components there, not at the top of the test file. `before`: a module whose function
 * runs first in that registry (a change to the code the program uses, as the engine tests' `before`).
 */
export async function runIsolated(options: RunOptions, before?: string): Promise<PlanRun> {
    shareSdk();
    let result: PlanRun | undefined;
    await jest.isolateModulesAsync(async () => {
        // A change to the code the program then uses (tests/engine/programs), in the run's own registry.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        if (before) (require(before) as () => void)();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runProgram } = require("../plan/run") as typeof import("../plan/run");
        result = await runProgram(options);
    });
    return result!;
}

/** Runs index.ts for a stack with config overrides; fails the test if the program fails. */
export async function runStack(stack: string, overrides: Record<string, string | undefined> = {}): Promise<PlanRun> {
    const result = await runIsolated({ stack, overrides });
    if (result.error) throw result.error;
    return result;
}

export function resource(run: PlanRun, name: string, type?: string): RecordedResource {
    const found = run.resources.filter((r) => r.name === name && (!type || r.type === type));
    if (found.length !== 1) throw new Error(`expected one resource named ${name}${type ? ` of ${type}` : ""}, found ${found.length}`);
    return found[0];
}

export function ofType(run: PlanRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

export function parentOf(run: PlanRun, r: RecordedResource): RecordedResource | undefined {
    return run.resources.find((p) => p.urn === r.parent);
}

/** A stack file's project config as lib/config.ts reads it: strings for string keys, parsed JSON otherwise. */
export function rawConfig(stack: string): RawConfig {
    return readRawConfig(ROOT, stack);
}

/** Runs a real program; fails the test with its output when it cannot be started. */
export function run(cmd: string, args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
    const res = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, cwd: opts.cwd, env: opts.env ?? process.env });
    if (res.error) throw new Error(`cannot run ${cmd}: ${res.error.message} (.ci/run installs the Debian packages the tests need)`);
    return res;
}

/** The environment of a pipe: no terminal width, no forced colour, so the plan prints one line per item. */
const PIPED = Object.fromEntries(Object.entries(process.env).filter(([k]) => !["COLUMNS", "FORCE_COLOR"].includes(k)));

/** `npm run plan -- <args>` as a pipe runs it, from the repository root. */
export const planCli = (...args: string[]) => run(process.execPath, [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--swc", "plan/cli.ts", ...args], { cwd: ROOT, env: PIPED });

/** Generates a key pair with the real ssh-keygen and returns the public key line. */
export function sshKeygen(type: "ed25519" | "rsa" | "ecdsa", bits?: number): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keygen-"));
    try {
        const file = path.join(dir, "key");
        const res = run("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", `test-${type}`, "-f", file]);
        if (res.status !== 0) throw new Error(`ssh-keygen failed: ${res.stderr}`);
        return fs.readFileSync(`${file}.pub`, "utf8").trim();
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export { isSecret, strings, unwrapSecrets } from "../plan/secrets";

/** The apply script a remote step runs (inside its `create` command). */
export function stepScript(r: RecordedResource): string {
    const script = scriptOfCommand(String(r.inputs.create));
    if (script === undefined) throw new Error(`${r.name}'s command is not a step command`);
    return script;
}

/** The values a remote step sends on stdin (secrets revealed), by name. */
export const stepValues = (r: RecordedResource): Record<string, string> => (r.inputs.stdin === undefined ? {} : parsePayload(String(unwrapSecrets(r.inputs.stdin))));

/** The files a remote step writes, with its values filled in as the host does. */
export function stepFiles(r: RecordedResource): ManagedFile[] {
    const values = stepValues(r);
    return parseApplyScript(stepScript(r)).map((f) => ({ ...f, content: fillPlaceholders(f.content, values) }));
}
