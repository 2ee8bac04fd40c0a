/**
 * Protection of state (PROT-1..3) and secrets (SEC-1..6): Pulumi options, provider-side protection, random
 * passwords, Secrets Manager, IAM, and where secret values travel.
 */
import { parsePayload } from "../lib/render/apply-script";
import { asList, generatedSecrets, hostFiles, iamPatternMatches, known, knownStrings, perText, policyStatements, ResourceLike, revealedSecret, unjudgedSteps } from "./parse";
import { ChecklistPolicy, isServer, stackPolicy } from "./support";
import type { PolicyResourceOptions } from "@pulumi/policy";

type R = ResourceLike & { opts: PolicyResourceOptions };

/** Stateful resource types and their provider-side delete protection (property, wanted value). */
export const STATEFUL: Readonly<Record<string, readonly [string, unknown][]>> = {
    "hcloud:index/server:Server": [["deleteProtection", true], ["rebuildProtection", true]],
    "hcloud:index/volume:Volume": [["deleteProtection", true]],
    "hcloud:index/primaryIp:PrimaryIp": [["deleteProtection", true], ["autoDelete", false]],
    "aws:ec2/instance:Instance": [["disableApiTermination", true]],
    "aws:ec2/eip:Eip": [],
    "aws:ebs/volume:Volume": [],
    "aws:rds/instance:Instance": [["deletionProtection", true]],
    "aws:s3/bucket:Bucket": [["forceDestroy", false]],
    "aws:secretsmanager/secret:Secret": [],
};

export const prot1: ChecklistPolicy = stackPolicy({
    id: "PROT-1",
    slug: "protect-stateful-resources",
    description: "In prod, stateful resources (servers, volumes, IPs, databases, buckets, secrets) are protected in Pulumi and by the provider where it can.",
    severity: "critical",
    remediation: "Set webapp:protect true in the prod stack; components then set protect and the provider's delete protection.",
    check: (resources, ctx) => {
        if (!ctx.prod) return;
        for (const r of resources as R[]) {
            const provider = STATEFUL[r.type];
            if (!provider) continue;
            const p: string[] = [];
            if (!r.opts.protect) p.push("not protected in Pulumi");
            for (const [key, want] of provider) if ((r.props[key] ?? (want === false ? false : undefined)) !== want) p.push(`${key} is ${JSON.stringify(r.props[key])}, needs ${want}`);
            if (p.length) ctx.report(`${r.name} (${r.type}): ${p.join("; ")}. Set webapp:protect true.`, r);
        }
    },
});

export const prot2: ChecklistPolicy = stackPolicy({
    id: "PROT-2",
    slug: "provider-backups",
    description: "In prod, the provider's automatic backups of the servers are on (hcloud backups).",
    severity: "medium",
    remediation: "The prod stack sets providerBackups (hcloud `backups: true`).",
    check: (resources, ctx) => {
        if (!ctx.prod) return;
        for (const s of resources.filter((r) => r.type === "hcloud:index/server:Server")) if (s.props.backups !== true) ctx.report(`${s.name} has provider backups off; set backups: true.`, s);
    },
});

export const prot3: ChecklistPolicy = stackPolicy({
    id: "PROT-3",
    slug: "user-data-never-replaces",
    description: "A change to server user data never replaces a prod server silently: user data changes are ignored after creation.",
    severity: "high",
    remediation: "Keep ignoreChanges: [\"userData\"] on prod servers (Vps with protect); change hosts through the remote steps.",
    check: (resources, ctx) => {
        if (!ctx.prod) return;
        for (const s of (resources as R[]).filter(isServer)) {
            // EC2 may carry its user data as userDataBase64 instead; "*" ignores every property.
            const field = s.props.userDataBase64 !== undefined && s.props.userData === undefined ? "userDataBase64" : "userData";
            if (!s.opts.ignoreChanges.some((p) => p === field || p === "*")) ctx.report(`${s.name} would be replaced or restarted by a user data change; add ignoreChanges: ["${field}"].`, s);
            if (s.props.userDataReplaceOnChange === true) ctx.report(`${s.name} has userDataReplaceOnChange; remove it.`, s);
        }
    },
});

const passwords = (resources: readonly ResourceLike[]) => resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");

export const sec1: ChecklistPolicy = stackPolicy({
    id: "SEC-1",
    slug: "strong-generated-secrets",
    description: "Every generated secret has length >= 32 (app secret keys >= 48) and uses upper, lower, digits and specials (an empty overrideSpecial counts as no specials).",
    severity: "critical",
    remediation: "Keep SECRET_SPECS lengths and passwordArgs classes (lib/secret-specs.ts).",
    check: (resources, ctx) => {
        for (const r of passwords(resources)) {
            const need = /secret-key/.test(r.name) ? 48 : 32;
            const p: string[] = [];
            if (!(Number(r.props.length) >= need)) p.push(`length ${r.props.length} < ${need}`);
            for (const cls of ["upper", "lower", "numeric", "special"]) if (r.props[cls] === false) p.push(`${cls} characters are off`);
            // An empty overrideSpecial leaves special: true with no special characters to draw from.
            if (r.props.special !== false && r.props.overrideSpecial === "") p.push("overrideSpecial is empty, so special characters are off");
            if (p.length) ctx.report(`${r.name}: ${p.join("; ")}. Use at least ${need} characters from all four classes.`, r);
        }
    },
});

/** Patterns of secrets written as literals. */
const LITERALS: [RegExp, string][] = [
    [/-----BEGIN (RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----/, "a private key"],
    [/\b(AKIA|ASIA)[A-Z0-9]{16}\b[\s\S]{0,200}\b[A-Za-z0-9/+]{40}\b/, "an AWS access key with its secret"],
    [/(?:^|[^A-Za-z0-9])(password|passwd|secret|token|api[_-]?key|secret[_-]access[_-]key)["']?\s*(?:=|:\s)\s*["']?[^\s"'$<{@]{8,}/im, "a password assignment"],
];

/**
 * The kind of secret-looking literal a string carries, also inside base64 (cloud-init's `encoding: b64`, a
 * step's encoded payload): undefined when there is none.
 */
export const secretLiteral = perText((value: string): string | undefined => {
    const direct = LITERALS.find(([re]) => re.test(value))?.[1];
    if (direct) return direct;
    for (const [run] of value.matchAll(/[A-Za-z0-9+/]{40,}={0,2}/g)) {
        const decoded = Buffer.from(run, "base64").toString("utf8");
        const hit = LITERALS.find(([re]) => re.test(decoded))?.[1];
        if (hit) return `${hit} (base64-encoded)`;
    }
    return undefined;
});

/** Where secrets may legitimately travel: steps marked secret, Secrets Manager versions, the RDS master password. */
export function isSecretSink(r: R, path: string): boolean {
    if (r.type === "command:remote:Command") return path === "connection" || ((path === "stdin" || path === "triggers") && r.opts.additionalSecretOutputs.includes("stdout"));
    if (r.type === "aws:secretsmanager/secretVersion:SecretVersion") return path === "secretString";
    if (r.type === "aws:rds/instance:Instance") return path === "password";
    return r.type === "random:index/randomPassword:RandomPassword" || r.type === "aws:iam/accessKey:AccessKey";
}

/**
 * This project's component resources: their inputs are the args of the component, never sent to a provider or a
 * host, and kept encrypted in state where they are secret (which policies cannot see). Their children are judged.
 */
const isComponent = (r: ResourceLike) => r.type.startsWith("webapp:");

/** A step's stdin as its values read back (`name value` lines), or as it is when it is not a payload. */
const decodedPayload = perText((stdin: string): string => {
    try {
        return Object.entries(parsePayload(stdin)).map(([k, v]) => `${k} ${v}`).join("\n");
    } catch {
        return stdin;
    }
});

/** Every known string property with its top-level property name (unknown ones cannot carry a literal yet). */
const allStrings = (r: R) => knownStrings(r.props);

export const sec2: ChecklistPolicy = stackPolicy({
    id: "SEC-2",
    slug: "no-plaintext-secrets",
    description: "No secret-looking literal (private key, AWS key pair, password, token, API key or AWS secret key assignment, also base64-encoded) in the program's resources outside a secret sink; secret config keys are set with --secret.",
    severity: "critical",
    remediation: "Generate secrets with @pulumi/random or read them with config.requireSecret, and pass them only through secret steps or secret stores.",
    check: (resources, ctx) => {
        for (const r of resources as R[]) {
            if (r.type.startsWith("pulumi:providers:") || isComponent(r)) continue;
            for (const { top, value } of allStrings(r)) {
                if (isSecretSink(r, top)) continue;
                const hit = secretLiteral(value);
                if (hit) ctx.report(`${r.name} carries ${hit} in ${top}; pass it as a secret (config --secret, a secret step or a secret store).`, r);
            }
        }
    },
});

export const sec3: ChecklistPolicy = stackPolicy({
    id: "SEC-3",
    slug: "secrets-manager-in-prod",
    description: "Prod keeps its generated secrets in AWS Secrets Manager with a recovery window of at least 7 days.",
    severity: "high",
    remediation: "Set webapp:secretStore aws-secrets-manager in the prod stack; keep recoveryWindowInDays >= 7.",
    check: (resources, ctx) => {
        const stored = resources.filter((r) => r.type === "aws:secretsmanager/secret:Secret");
        for (const s of stored) {
            const days = s.props.recoveryWindowInDays ?? 30;
            if (days !== 0 && days < 7) ctx.report(`${s.name} can be deleted for good after ${days} days; use recoveryWindowInDays >= 7.`, s);
            if (days === 0) ctx.report(`${s.name} is deleted at once (recoveryWindowInDays 0); use >= 7.`, s);
        }
        if (ctx.prod && passwords(resources).length > 0 && stored.length === 0) ctx.report("prod generates secrets but stores none in AWS Secrets Manager; set webapp:secretStore aws-secrets-manager.", passwords(resources)[0]);
    },
});

export const sec4: ChecklistPolicy = stackPolicy({
    id: "SEC-4",
    slug: "secrets-rotate",
    description: "Generated secrets rotate on a period (keepers carry the rotation generation) and encryption keys keep the previous key (two slots).",
    severity: "medium",
    remediation: "Keep AppSecrets' generation keepers and the a/b encryption key slots.",
    check: (resources, ctx) => {
        for (const r of passwords(resources)) {
            if (!r.props.keepers || r.props.keepers.generation === undefined) ctx.report(`${r.name} never rotates (no generation keeper); keep it in AppSecrets.`, r);
        }
        const keys = passwords(resources).filter((r) => /encryption-key/.test(r.name));
        if (keys.length > 0 && !(keys.some((k) => k.name.endsWith("-a")) && keys.some((k) => k.name.endsWith("-b")))) ctx.report(`${keys[0].name} has no second slot, so a rotation loses the key old data needs; keep the a/b slots.`, keys[0]);
    },
});

export const sec5: ChecklistPolicy = stackPolicy({
    id: "SEC-5",
    slug: "secrets-stay-secret",
    description: "No generated secret value appears in a command line, user data, tag, non-secret step or other non-secret input; credential files travel only in secret steps.",
    severity: "critical",
    remediation: "Send secrets only through steps with secret: true (stdin, never `create`), Secrets Manager or the provider's secret fields.",
    check: (resources, ctx) => {
        // Generated values exist only once created; before that no input can contain them, and a step built from
        // one has an unknown command (reported below).
        const generated = generatedSecrets(resources);
        for (const r of (resources as R[]).filter((r) => !isComponent(r))) {
            for (const { top, value } of allStrings(r)) {
                if (isSecretSink(r, top)) continue;
                // A step's values travel base64-encoded on stdin: judge them decoded.
                const text = r.type === "command:remote:Command" && top === "stdin" ? decodedPayload(value) : value;
                const shown = revealedSecret(text, generated);
                if (shown) ctx.report(`${r.name} carries the generated secret ${shown.name} in ${top}, which is not secret (it shows in previews, state and logs); pass it through a secret step.`, r);
            }
        }
        for (const f of hostFiles(resources).filter((f) => /\/credentials\/[^/]+$/.test(f.path))) {
            const step = f.from as R;
            if (!step.opts?.additionalSecretOutputs?.includes("stdout")) ctx.report(`${step.name} writes credential ${f.path} but is not a secret step; mark it secret.`, step);
        }
        for (const { from, unknown } of unjudgedSteps(resources)) {
            ctx.report(
                `${from.name}: its ${unknown} is not known before the update (it is built from a value that exists only during the update, such as a generated secret or a new resource's address), so it may carry a secret and the checklist cannot judge what it does before it runs; keep the script known and pass such values as the step's \`values\` or \`secrets\` (remoteStep), which travel on stdin.`,
                from,
            );
        }
    },
});

export const sec6: ChecklistPolicy = stackPolicy({
    id: "SEC-6",
    slug: "least-privilege-secret-access",
    description: "Only the app's identity can read its secrets: IAM statements on Secrets Manager name the secrets and allow only reading them.",
    severity: "high",
    remediation: "Allow secretsmanager:GetSecretValue and DescribeSecret on the app's secret ARNs only (AppSecrets read policy).",
    check: (resources, ctx) => {
        const documents = resources.flatMap((r) => {
            if (["aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/groupPolicy:GroupPolicy"].includes(r.type)) return [{ r, doc: r.props.policy }];
            // Inline policies given to a role directly.
            if (r.type === "aws:iam/role:Role") return ((r.props.inlinePolicies ?? []) as { policy?: unknown }[]).map((p) => ({ r, doc: p.policy }));
            return [];
        });
        for (const { r, doc } of documents) {
            for (const s of policyStatements(doc).filter((s) => s.Effect === "Allow")) {
                if (s.NotAction !== undefined) {
                    if (!asList(s.NotAction).some((a) => /^secretsmanager:\*$|^\*$/.test(a))) ctx.report(`${r.name} allows everything but ${asList(s.NotAction).join(", ")} (NotAction), Secrets Manager included; allow only GetSecretValue and DescribeSecret on the app's secrets.`, r);
                    continue;
                }
                const actions = asList(s.Action);
                if (!actions.some((a) => a.toLowerCase().startsWith("secretsmanager:") || a === "*")) continue;
                const wide = actions.filter((a) => !["secretsmanager:getsecretvalue", "secretsmanager:describesecret"].includes(a.toLowerCase()));
                // A resource pattern that would also match another application's secret reads more than the app's.
                const stranger = `arn:aws:secretsmanager:eu-central-1:123456789012:secret:someone-else/db-AbCdEf`;
                const everywhere = (s.NotResource !== undefined ? ["NotResource (every other secret)"] : []).concat(asList(s.Resource).filter((x) => iamPatternMatches(x, stranger)));
                if (wide.length) ctx.report(`${r.name} allows ${wide.join(", ")} on Secrets Manager; allow only GetSecretValue and DescribeSecret.`, r);
                if (everywhere.length) ctx.report(`${r.name} allows reading every secret (${everywhere.join(", ")}); name the app's secret ARNs.`, r);
            }
        }
        // AWS managed policies that read or manage every secret, attached to any identity.
        const managed = /^arn:aws:iam::aws:policy\/(SecretsManagerReadWrite|AdministratorAccess|PowerUserAccess|ReadOnlyAccess)$/;
        for (const r of resources) {
            // An ARN unknown before the update is a policy this stack creates, whose document is judged above.
            const read = known(() => (r.type.startsWith("aws:iam/") && r.type.endsWith("PolicyAttachment") ? [String(r.props.policyArn ?? "")] : r.type === "aws:iam/role:Role" ? asList(r.props.managedPolicyArns) : []));
            const arns = read.known ? read.value : [];
            for (const arn of arns.filter((a) => managed.test(a))) ctx.report(`${r.name} grants ${arn}, which reads every secret in the account; grant only the AppSecrets read policy.`, r);
        }
        // A secret's own resource policy that lets anyone in.
        for (const r of resources.filter((x) => x.type === "aws:secretsmanager/secretPolicy:SecretPolicy")) {
            for (const s of policyStatements(r.props.policy).filter((x) => x.Effect === "Allow" && (x.Principal === "*" || asList(x.Principal?.AWS).includes("*")))) {
                ctx.report(`${r.name} lets every principal (${JSON.stringify(s.Principal)}) act on the secret; name the app's identity.`, r);
            }
        }
    },
});

export const cloudPolicies = [prot1, prot2, prot3, sec1, sec2, sec3, sec4, sec5, sec6];
