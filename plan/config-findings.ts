/**
 * SEC-2 for the stack file itself, which policies never see: a key that holds a secret must be set with
 * `pulumi config set --secret` (stored as `secure:`), never in plain text.
 */
import { CONFIG_KEYS, ConfigKeySpec, PROJECT } from "../lib/config-schema";
import type { Finding } from "./evaluate";

const SECRET_NAME = /(token|password|passwd|secret(key)?|privatekey|accesskey|apikey)$/i;

/** Plain-text values of keys that hold secrets: project keys declared secret, and any key named like one. */
export function plaintextSecrets(config: Record<string, string>): string[] {
    return Object.keys(config).filter((full) => {
        const [ns, key] = full.split(":");
        const spec = ns === PROJECT ? (CONFIG_KEYS as Record<string, ConfigKeySpec>)[key] : undefined;
        return !!spec?.secret || SECRET_NAME.test(key ?? "");
    });
}

export function configFindings(stack: string, config: Record<string, string>, level: Finding["level"]): Finding[] {
    return plaintextSecrets(config).map((key) => ({
        policy: "sec-2-no-plaintext-secrets",
        checklistId: "SEC-2",
        level,
        severity: "critical",
        message: `Pulumi.${stack}.yaml holds ${key} in plain text; remove it and run \`pulumi config set --secret ${key} --stack ${stack}\` (then rotate the exposed value).`,
    }));
}
