/**
 * The one place that reads stack configuration. Everything else receives a typed {@link AppConfig}.
 *
 * Reading happens before any resource is registered: a bad value throws a {@link ConfigError} that names
 * every offending key with the fix, and the program stops with nothing created.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, ConfigError, ConfigKey, ConfigKeySpec, ConfigProblem, PROJECT, RawConfig, StackConfig, validateConfig } from "./config-schema";
import { exampleValues } from "./example-values";
import { PIN_VARIABLE, pinnedGeneration, rotationGeneration } from "./rotation";

export { ConfigError } from "./config-schema";

export type AppConfig = StackConfig & {
    readonly project: string;
    readonly stack: string;
    /** Private key for the remote steps (a Pulumi secret); undefined = use the SSH agent. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /**
     * The rotation generation of the generated secrets: pinned by `WEBAPP_ROTATION_GENERATION` (the drift check
     * compares at the last deploy's), else the clock's. Always set, so that a pinned run sends the same inputs as
     * the deploy it compares with.
     */
    readonly rotationGeneration: number;
};

/**
 * What {@link loadConfig} does with the example values of the committed stack files (lib/example-values.ts):
 * `reject` (the default, under the real engine) stops the program before any resource exists; `report` (the
 * offline plan, which runs the committed examples) records them for {@link exampleValuesFound}.
 */
let exampleMode: "reject" | "report" = "reject";
let examplesFound: readonly ConfigProblem[] = [];

/** Lets the offline plan run the committed example stacks; the example values are listed, not refused. */
export function reportExampleValues(): void {
    exampleMode = "report";
}

/** The example values the last {@link loadConfig} found in `report` mode. */
export function exampleValuesFound(): readonly ConfigProblem[] {
    return examplesFound;
}

/** Reads and validates the project config of the current stack. */
export function loadConfig(): AppConfig {
    const stack = pulumi.getStack();
    const cfg = new pulumi.Config(PROJECT);
    const raw: RawConfig = {};
    const unreadable: { key: string; message: string; fix: string }[] = [];
    for (const [key, spec] of Object.entries(CONFIG_KEYS) as [ConfigKey, ConfigKeySpec][]) {
        if (spec.secret) continue;
        try {
            raw[key] = spec.type === "string" ? cfg.get(key) : cfg.getObject(key);
        } catch (err) {
            unreadable.push({
                key,
                message: `cannot be read as ${spec.type}: ${(err as Error).message}`,
                fix: `pulumi config set ${spec.type === "array" ? "--path " : ""}${PROJECT}:${key} <${spec.type}> --stack ${stack}`,
            });
        }
    }
    // Unknown project keys (typos such as `adminCidr`) are reported, not silently ignored.
    for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
        const key = fullKey.slice(PROJECT.length + 1);
        if (fullKey.startsWith(`${PROJECT}:`) && !(key in CONFIG_KEYS)) raw[key] = true;
    }
    if (unreadable.length > 0) throw new ConfigError(stack, unreadable);
    const config = validateConfig(raw, stack);
    const examples = exampleValues(config, stack);
    if (examples.length > 0 && exampleMode === "reject") throw new ConfigError(stack, examples, "Not yet configured: example values");
    examplesFound = examples;
    const pinned = pinnedGeneration(process.env[PIN_VARIABLE], new Date(), config.secretRotationDays);
    if (typeof pinned === "object") throw new ConfigError(stack, [{ key: "secretRotationDays", message: pinned.error, fix: `unset ${PIN_VARIABLE}, or set it to \`pulumi stack output secretRotationGeneration --stack ${stack}\`` }]);
    const generation = pinned ?? rotationGeneration(new Date(), config.secretRotationDays);
    return { ...config, project: pulumi.getProject(), stack, sshPrivateKey: cfg.getSecret("sshPrivateKey"), rotationGeneration: generation };
}
