/**
 * The one place that reads stack configuration. Everything else receives a typed {@link AppConfig}.
 *
 * Reading happens before any resource is registered: a bad value throws a {@link ConfigError} that names
 * every offending key with the fix, and the program stops with nothing created.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, ConfigError, ConfigKey, ConfigKeySpec, PROJECT, RawConfig, StackConfig, validateConfig } from "./config-schema";

export { ConfigError } from "./config-schema";

export type AppConfig = StackConfig & {
    readonly project: string;
    readonly stack: string;
    /** Private key for the remote steps (a Pulumi secret); undefined = use the SSH agent. */
    readonly sshPrivateKey?: pulumi.Output<string>;
};

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
    return { ...config, project: pulumi.getProject(), stack, sshPrivateKey: cfg.getSecret("sshPrivateKey") };
}
