/**
 * Test support: the real Pulumi engine, offline. The CLI is the one `.ci/run` builds from the Go module proxy
 * (tools/pulumi, version in tools/pulumi/version); its location comes from `PULUMI_CLI` or the default cache.
 * Each `Engine` has its own PULUMI_HOME and file backend in a temporary directory, with the stand-in providers
 * installed at exactly the versions the SDKs request and automatic plugin downloads off. The policy pack runs
 * through tests/engine/policy-pack, the program through the automation API (driver.js).
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "../..");
export const CLI_VERSION = fs.readFileSync(path.join(ROOT, "tools/pulumi/version"), "utf8").trim();
/** The tools cache .ci/run fills, outside the clone so that fresh clones on one machine share it. */
export const CACHE = process.env.CI_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "webapp-ci");
export const CLI = process.env.PULUMI_CLI ?? path.join(CACHE, "pulumi", CLI_VERSION, "pulumi");

/** Provider plugins and the versions the SDKs in package-lock.json request. */
const PROVIDERS: { name: string; version: string; file: string; args?: string }[] = [
    { name: "command", version: "1.2.1", file: "command.ts" },
    { name: "random", version: "4.21.2", file: "random.ts" },
    { name: "hcloud", version: "1.41.0", file: "preview-only.ts", args: "hcloud" },
    { name: "aws", version: "7.48.0", file: "preview-only.ts", args: "aws" },
];

type EngineEvent = Record<string, any>;
type PolicyEvent = { policyName: string; enforcementLevel: string; message: string; resourceUrn?: string };
export type EngineResult = { ok: boolean; error?: string; exitCode?: number; events: EngineEvent[]; outputs?: Record<string, unknown>; summary?: any; ms?: number };

export type RunSpec = {
    stack: string;
    op: "preview" | "up";
    /** Config set on the stack (on top of its stack file), plain. */
    config?: Record<string, string>;
    /** Config set as secrets. */
    secretConfig?: Record<string, string>;
    /** Run with the policy pack and the stack's pack config. Default true. */
    policyPack?: boolean;
    /** A different pack config file. Default `policies/config/<stack>.json`. */
    policyPackConfig?: string;
    expectNoChanges?: boolean;
    /** URNs to replace, as `pulumi up --replace <urn>` (the repair verify prints). Default: none. */
    replace?: string[];
    /** `empty`: a program that registers nothing instead of the project (the engine's fixed cost). */
    program?: "empty";
    /**
     * A test module (absolute path) whose exported function the program's exports are passed to once the project
     * has run: resources a user adds next to the stack's own, registered in the same program. Default: none.
     */
    extend?: string;
    /**
     * A test module (absolute path) whose exported function runs before each program run loads the project's
     * modules: a change to the code the program then uses (a renderer). Default: none.
     */
    before?: string;
    /** With op `up`: the Automation API's `up()` alone (`pulumi up --skip-preview`), no preview first. Default false. */
    skipPreview?: boolean;
    /** Run the program with the clock moved this many days ahead (libfaketime), e.g. past a rotation period. */
    clockOffsetDays?: number;
    /** Environment variables for the program (and the CLI), e.g. WEBAPP_ROTATION_GENERATION. */
    env?: Record<string, string>;
};

/**
 * A stack's own values in place of the committed examples, as a user sets them before a real preview (the
 * program refuses example values, lib/example-values.ts): a private admin network, `.test` names (RFC 2606,
 * never resolved), and an admin key whose private half was thrown away when it was made.
 */
export function ownValues(stack: string): Record<string, string> {
    return {
        "webapp:adminCidrs": '["10.20.30.0/24"]',
        "webapp:adminSshPublicKeys": '["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9BOV8QjsmnkZJh0LxTA7PZirvfVTym/3yAogCzX6s/ engine-test@webapp.test"]',
        "webapp:domain": `${stack}.webapp.test`,
        "webapp:domainAliases": stack === "prod" ? `["www.${stack}.webapp.test"]` : "[]",
        "webapp:acmeEmail": "ops@webapp.test",
    };
}

/** The pack as the CLI starts it here: an executable analyzer plugin that runs policies/ (see the file). */
export const PACK = path.join(ROOT, "tests/engine/policy-pack");

/**
 * The stand-in providers as plain JavaScript in `dir/providers`, transpiled with the project's compiler options
 * (type errors are `npm run typecheck`'s, as for the rest of tests/). The engine starts each provider plugin anew
 * in every preview and update, one after the other as the program first needs it; under ts-node each start
 * paid for loading a TypeScript compiler (about 0.3 s of the 0.6 s), which a real provider, a Go binary, does
 * not. Their imports resolve from the project's node_modules (NODE_PATH in each plugin's wrapper).
 */
function compileStandIns(dir: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts: typeof import("typescript") = require("typescript");
    const tsconfig = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
    if (tsconfig.error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(tsconfig.error.messageText, "\n")}`);
    const { options, errors } = ts.convertCompilerOptionsFromJson(tsconfig.config.compilerOptions, ROOT);
    if (errors.length) throw new Error(`tsconfig.json: ${errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, "\n")).join("; ")}`);
    const src = path.join(ROOT, "tests/engine/providers");
    const out = path.join(dir, "providers");
    fs.mkdirSync(out, { recursive: true });
    for (const file of fs.readdirSync(src).filter((f) => f.endsWith(".ts"))) {
        const { outputText } = ts.transpileModule(fs.readFileSync(path.join(src, file), "utf8"), { compilerOptions: { ...options, sourceMap: false, inlineSourceMap: true }, fileName: path.join(src, file) });
        fs.writeFileSync(path.join(out, file.replace(/\.ts$/, ".js")), outputText);
    }
    return out;
}

export class Engine {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
    readonly passphrase = `engine-test-${process.pid}`;

    constructor() {
        if (!fs.existsSync(CLI)) throw new Error(`no Pulumi CLI at ${CLI}: run .ci/run (it builds tools/pulumi) or set PULUMI_CLI`);
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-"));
        fs.mkdirSync(path.join(this.dir, "backend"));
        fs.mkdirSync(path.join(this.dir, "plugins-src"));
        this.env = {
            ...process.env,
            PATH: `${path.dirname(CLI)}:${process.env.PATH}`,
            PULUMI_HOME: path.join(this.dir, "home"),
            PULUMI_BACKEND_URL: `file://${path.join(this.dir, "backend")}`,
            PULUMI_CONFIG_PASSPHRASE: this.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
        };
        const compiled = compileStandIns(path.join(this.dir, "plugins-src"));
        for (const p of PROVIDERS) {
            const wrapper = path.join(this.dir, "plugins-src", `pulumi-resource-${p.name}`);
            const main = path.join(compiled, p.file.replace(/\.ts$/, ".js"));
            fs.writeFileSync(wrapper, `#!/bin/sh\nNODE_PATH=${ROOT}/node_modules exec node ${main} ${p.args ?? ""} "$@"\n`, { mode: 0o755 });
            execFileSync(CLI, ["plugin", "install", "resource", p.name, p.version, "--file", wrapper], { env: this.env, stdio: "pipe" });
        }
    }

    /** A working directory for one stack: copies of Pulumi.yaml and the stack file (stack init rewrites it). */
    workDir(stack: string): string {
        const dir = path.join(this.dir, `work-${stack}`);
        if (!fs.existsSync(dir)) {
            fs.mkdirSync(dir);
            for (const f of ["Pulumi.yaml", `Pulumi.${stack}.yaml`]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
        }
        return dir;
    }

    /** Runs a preview or an update through driver.js in its own process. */
    run(spec: RunSpec): Promise<EngineResult> {
        const id = `${spec.stack}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
        const specFile = path.join(this.dir, `${id}.spec.json`);
        const resultFile = path.join(this.dir, `${id}.result.json`);
        fs.writeFileSync(
            specFile,
            JSON.stringify({
                projectDir: ROOT,
                workDir: this.workDir(spec.stack),
                stack: spec.stack,
                op: spec.op,
                config: spec.config,
                secretConfig: spec.secretConfig,
                policyPacks: spec.policyPack === false ? undefined : [PACK],
                policyPackConfigs: spec.policyPack === false ? undefined : [spec.policyPackConfig ?? path.join(ROOT, "policies/config", `${spec.stack}.json`)],
                expectNoChanges: spec.expectNoChanges,
                replace: spec.replace,
                program: spec.program,
                extend: spec.extend,
                before: spec.before,
                skipPreview: spec.skipPreview,
            }),
        );
        return new Promise((resolve, reject) => {
            const driver = [process.execPath, path.join(__dirname, "driver.js"), specFile, resultFile];
            const [cmd, ...args] = spec.clockOffsetDays ? ["faketime", "-f", `+${spec.clockOffsetDays}d`, ...driver] : driver;
            const child = spawn(cmd, args, { env: { ...this.env, ...spec.env }, stdio: ["ignore", "pipe", "pipe"] });
            let stderr = "";
            child.stdout.on("data", () => undefined);
            child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
            child.on("error", reject);
            child.on("close", (code) => {
                if (!fs.existsSync(resultFile)) return reject(new Error(`driver exited ${code} without a result:\n${stderr}`));
                resolve(JSON.parse(fs.readFileSync(resultFile, "utf8")) as EngineResult);
            });
        });
    }

    /** Removes the stack (state and stack file copy), so the next run is a first deploy again. */
    forget(stack: string): void {
        fs.rmSync(path.join(this.dir, `work-${stack}`), { recursive: true, force: true });
        fs.rmSync(path.join(this.dir, "backend"), { recursive: true, force: true });
        fs.mkdirSync(path.join(this.dir, "backend"));
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** The policy events of a run. */
export const policyEvents = (r: EngineResult): PolicyEvent[] => r.events.filter((e) => e.policyEvent).map((e) => e.policyEvent as PolicyEvent);

/**
 * The steps the engine planned (a preview, or the preview phase of an up) or ran (the update phase): op and
 * resource name, in order (the stack itself left out).
 */
export const steps = (r: EngineResult, phase?: "preview" | "update"): { op: string; name: string; type: string }[] =>
    r.events
        .filter((e) => e.resourcePreEvent && (!phase || e.phase === phase))
        .map((e) => e.resourcePreEvent.metadata)
        .filter((m) => m.type !== "pulumi:pulumi:Stack")
        .map((m) => ({ op: m.op, name: String(m.urn).split("::").slice(-1)[0], type: m.type }));
