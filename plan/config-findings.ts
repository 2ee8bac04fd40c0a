/**
 * Checks of what policies never see. SEC-2 for the stack file itself: a key that holds a secret must be set with
 * `pulumi config set --secret` (stored as `secure:`), never in plain text. SEC-5 for the stack outputs: no
 * generated secret in an output that is not marked secret.
 */
import { CONFIG_KEYS, ConfigKeySpec, PROJECT } from "../lib/config-schema";
import type { Finding } from "./evaluate";
import type { PlanRun } from "./run";
import { isSecret, strings } from "./secrets";

/** Generated secret values of a run (random passwords, access key secrets). */
function secretValues(run: PlanRun): string[] {
    const pick = (v: unknown) => (isSecret(v) ? v.value : v);
    return run.resources
        .flatMap((r) => (r.type === "random:index/randomPassword:RandomPassword" ? [pick(r.outputs.result)] : r.type === "aws:iam/accessKey:AccessKey" ? [pick(r.outputs.secret)] : []))
        .filter((v): v is string => typeof v === "string" && v.length >= 16);
}

export function outputFindings(run: PlanRun, level: Finding["level"]): Finding[] {
    const secrets = secretValues(run);
    return Object.entries(run.outputs)
        .filter(([, v]) => strings(v).plain.some((s) => secrets.some((x) => s.includes(x))))
        .map(([name]) => ({
            policy: "sec-5-secrets-stay-secret",
            checklistId: "SEC-5",
            level,
            severity: "critical",
            message: `stack output ${name} shows a generated secret in plain text; wrap it in pulumi.secret() or stop exporting it.`,
        }));
}

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
