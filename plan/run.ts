/**
 * Runs the real program for one stack under Pulumi's mock runtime and records what it registers, with the
 * same request the engine would receive (type, name, parent, inputs with secrets marked, options). Used by the
 * offline plan and by the graph tests, so both see the program exactly as `pulumi preview` runs it.
 *
 * Call it in a fresh module registry (a new process, or `jest.isolateModulesAsync`): the Pulumi runtime keeps
 * global state per process.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigKey, ConfigProblem, PROJECT, RawConfig } from "../lib/config-schema";
import { createMocks } from "./mocks";

export type RecordedResource = {
    urn: string;
    /** Provider id; empty for components and the stack. */
    id: string;
    type: string;
    name: string;
    /** Parent URN; undefined for the stack itself. */
    parent?: string;
    custom: boolean;
    /** Inputs as sent to the engine; secrets stay wrapped (see `plan/secrets.ts`). */
    inputs: Record<string, unknown>;
    /** Outputs the (mock) provider returned, or a component's registered outputs. */
    outputs: Record<string, unknown>;
    protect: boolean;
    ignoreChanges: string[];
    dependencies: string[];
    /** Per input property, the URNs of the resources its value comes from (what the engine gives policies). */
    propertyDependencies: Record<string, string[]>;
    additionalSecretOutputs: string[];
    /** Provider reference (`urn::id`) for custom resources. */
    provider?: string;
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
};

export type RecordedInvoke = { token: string; inputs: Record<string, unknown> };

export type PlanRun = {
    project: string;
    stack: string;
    /** The stack config the program saw (secret values withheld). */
    config: Record<string, string>;
    resources: RecordedResource[];
    invokes: RecordedInvoke[];
    /** Stack outputs, with secrets wrapped. */
    outputs: Record<string, unknown>;
    /** Why the program failed (for example a rejected configuration); resources holds what it registered before. */
    error?: Error;
    /** The run modelled the preview of a first deploy (see `RunOptions.firstDeploy`). */
    firstDeploy: boolean;
    /** Example values left in the stack's config, which a real preview or up refuses (lib/example-values.ts). */
    exampleValues: readonly ConfigProblem[];
};

export type RunOptions = {
    stack: string;
    /** Project directory (holds Pulumi.yaml and the stack files). Default: the repository root. */
    dir?: string;
    /** Config changes on top of the stack file: full keys (`webapp:sshPort`), string values, undefined removes. */
    overrides?: Record<string, string | undefined>;
    /** The program to run. Default: `index.ts` of `dir`. Tests pass a function that builds one component. */
    program?: () => unknown;
    /**
     * Run as the preview of a first deploy: new resources' ids and computed outputs, and so everything derived
     * from them, are unknown (recorded as `pulumi.Output`'s `unknown`). Default false: every value is known, as in
     * an update of an existing stack.
     */
    firstDeploy?: boolean;
};

export const ROOT = path.resolve(__dirname, "..");

/** Reads the stack file into the flat `project:key -> string` form Pulumi passes to programs. */
export function readStackConfig(dir: string, stack: string): { project: string; config: Record<string, string>; encrypted: string[] } {
    const project = String(parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")).name);
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack file ${path.relative(process.cwd(), file) || file}: create it with \`pulumi stack init ${stack}\` and set the required keys (see Pulumi.yaml)`);
    }
    const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
    const config: Record<string, string> = {};
    const encrypted: string[] = [];
    for (const [key, value] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        if (value && typeof value === "object" && "secure" in (value as object)) {
            // Ciphertext needs the stack's secrets provider, which the offline plan does not have.
            encrypted.push(key);
            continue;
        }
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { project, config, encrypted };
}

/** The stack file's project keys as the config reader would get them: strings, or parsed lists, numbers and flags. */
export function readRawConfig(dir: string, stack: string): RawConfig {
    const { config } = readStackConfig(dir, stack);
    const raw: RawConfig = {};
    for (const [full, value] of Object.entries(config)) {
        const key = full.slice(PROJECT.length + 1) as ConfigKey;
        if (!full.startsWith(`${PROJECT}:`)) continue;
        raw[key] = CONFIG_KEYS[key]?.type === "string" ? value : JSON.parse(value);
    }
    return raw;
}

/**
 * Waits until every promise the runtime still has pending has settled: resource registrations whose inputs were
 * still resolving when the program returned (their failures arrive as unhandled rejections, as in the language
 * host, which keeps the process alive until they settle). The runtime tracks them as its leak candidates.
 */
async function settled(failed: () => boolean): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require("@pulumi/pulumi/runtime/state") as { getStore?: () => { leakCandidates?: Set<Promise<unknown>> } };
    const sleep = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));
    for (let round = 0; round < 1000 && !failed(); round++) {
        const pending = [...(state.getStore?.().leakCandidates ?? [])];
        if (pending.length === 0) return;
        // A resource whose inputs failed never resolves its outputs: stop when nothing settles any more.
        const progress = await Promise.race([Promise.race(pending.map((p) => p.then(() => true, () => true))), sleep(100)]);
        if (!progress) return;
    }
}

/**
 * One error the SDK logged, as a user needs it: which resource and why, without the SDK's stack trace. The SDK
 * writes `failed to register new resource <name> [<type>]: Error: <cause>` (or the bare error) followed by frames.
 */
export function programError(message: string): string {
    const lines = message.split("\n").filter((l) => !/^\s+at /.test(l) && l.trim());
    const register = /failed to register new resource (\S+) \[([^\]]+)\]/.exec(message);
    const cause = (lines.map((l) => l.replace(/^.*?(?:Error|error): /, "")).find((l) => !/failed to register new resource/.test(l)) ?? lines[0] ?? message).replace(/^error serializing property "[^"]+": /, "");
    return register ? `  - ${register[1]} (${register[2]}): ${cause}` : `  - ${cause}`;
}

/**
 * Forgets the program's own modules (those of `dir` outside node_modules, plan/ and policies/), so that the next
 * `runProgram` in this process loads the program afresh, as a new language host process would; the SDKs stay
 * loaded. The plan's first-deploy phase runs after its update phase this way.
 */
export function forgetProgramModules(dir: string = ROOT): void {
    const kept = ["node_modules", "plan", "policies"].map((d) => path.join(dir, d) + path.sep);
    for (const id of Object.keys(require.cache)) if (id.startsWith(dir + path.sep) && !kept.some((k) => id.startsWith(k)) && !id.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[id];
}

export async function runProgram(options: RunOptions): Promise<PlanRun> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    const dir = options.dir ?? ROOT;
    const { project, config } = readStackConfig(dir, options.stack);
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
        if (value === undefined) delete config[key];
        else config[key] = value;
    }
    pulumi.runtime.setAllConfig(config, []);
    const mocks = createMocks(config[`${project}:awsRegion`] ?? "eu-central-1", { firstDeploy: options.firstDeploy });
    await pulumi.runtime.setMocks(mocks, project, options.stack, true);

    const resources: RecordedResource[] = [];
    const invokes: RecordedInvoke[] = [];
    const monitor = pulumi.runtime.getMonitor() as unknown as Record<string, (req: any, cb: (err: any, res: any) => void) => void>;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const inputs = pulumi.runtime.deserializeProperties(req.getObject()) as Record<string, unknown>;
        register(req, (err, res) => {
            if (!err && res) {
                resources.push({
                    urn: res.getUrn(),
                    id: res.getId(),
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || undefined,
                    custom: req.getCustom(),
                    inputs,
                    outputs: pulumi.runtime.deserializeProperties(res.getObject()) as Record<string, unknown>,
                    protect: req.getProtect() ?? false,
                    ignoreChanges: req.getIgnorechangesList(),
                    dependencies: req.getDependenciesList(),
                    propertyDependencies: propertyDependencies(req.getPropertydependenciesMap()),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    provider: req.getProvider() || undefined,
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    retainOnDelete: req.getRetainondelete() ?? false,
                });
            }
            callback(err, res);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, callback) => {
        const found = resources.find((r) => r.urn === req.getUrn());
        if (found && req.getOutputs()) found.outputs = pulumi.runtime.deserializeProperties(req.getOutputs()) as Record<string, unknown>;
        registerOutputs(req, callback);
    };
    const invoke = monitor.invoke.bind(monitor);
    monitor.invoke = (req, callback) => {
        invokes.push({ token: req.getTok(), inputs: pulumi.runtime.deserializeProperties(req.getArgs()) as Record<string, unknown> });
        invoke(req, callback);
    };

    // The committed stack files are examples: the plan lists their example values instead of refusing them. The
    // config module is required here, in the registry the program's own imports resolve in.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const configModule: typeof import("../lib/config") = require("../lib/config");
    configModule.reportExampleValues();
    const program = options.program ?? (() => require(path.join(dir, "index.ts")));
    // The SDK records an unlimited stack trace for every resource (its source position for the engine), which
    // ts-node's source-map hook then maps frame by frame. The offline plan never reports source positions, so it
    // runs the program with V8's plain stack traces: a third less wall time for the same resources.
    const errorClass = Error as { prepareStackTrace?: unknown };
    const mappedStackTraces = errorClass.prepareStackTrace;
    errorClass.prepareStackTrace = undefined;
    let error: Error | undefined;
    const fail = (err: unknown) => {
        error ??= err instanceof Error ? err : new Error(String(err));
    };
    // A program error also rejects promises inside the runtime that nobody awaits (the stack's registration);
    // the language host reports such a rejection as the program's failure, and so does this.
    // A rejection nobody handled comes from inside the runtime (a resource whose inputs failed): it is reported
    // with the step and the cause, without the SDK's wording and stack.
    const failAsync = (err: unknown) => fail(new Error(`the program failed:\n${programError(err instanceof Error ? err.message : String(err))}`, { cause: err }));
    process.on("unhandledRejection", failAsync);
    // An error inside an apply (a renderer refusing its input, say) makes the SDK log an error and drop the resource
    // that needed the value; the language host then fails the program (log.hasErrors), and so does the plan, with
    // the resource and the cause instead of a partial graph.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const log: typeof import("@pulumi/pulumi/log") = require("@pulumi/pulumi/log");
    const logError = log.error;
    const logged: string[] = [];
    (log as { error: typeof log.error }).error = (msg, resource, streamId, ephemeral) => {
        logged.push(msg);
        return logError(msg, resource, streamId, ephemeral);
    };
    try {
        // The program's own throw (a rejected config, at module load) is caught inside the stack, so the stack
        // completes with no outputs instead of rejecting promises all through the runtime.
        await pulumi.runtime.runInPulumiStack(async () => {
            try {
                return await program();
            } catch (err) {
                fail(err);
                return {};
            }
        });
    } catch (err) {
        fail(err);
    }
    try {
        await settled(() => error !== undefined);
        await pulumi.runtime.disconnect();
        // Node reports a rejection nobody handled only after the microtasks drain: let it arrive before the
        // listener goes.
        await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
        process.off("unhandledRejection", failAsync);
        errorClass.prepareStackTrace = mappedStackTraces;
        (log as { error: typeof log.error }).error = logError;
    }
    if (!error && logged.length) error = new Error(`the program failed:\n${logged.map(programError).join("\n")}`);
    // The resources that waited on a failed value never resolve; the error above says why, so the runtime's
    // exit-time report of promises left pending would only repeat it as noise.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (error) (require("@pulumi/pulumi/runtime/debuggable") as { leakedPromises?: () => unknown }).leakedPromises?.();
    // The stack's registered outputs, as the engine receives them: secrets stay marked.
    const outputs = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs ?? {};
    return { project, stack: options.stack, config, resources, invokes, outputs, error, firstDeploy: options.firstDeploy ?? false, exampleValues: configModule.exampleValuesFound() };
}

/** A registration's property dependencies (a protobuf map of URN lists) as plain lists. */
function propertyDependencies(map: { forEach(f: (value: { getUrnsList(): string[] }, key: string) => void): void }): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    map.forEach((value, key) => {
        out[key] = value.getUrnsList();
    });
    return out;
}
