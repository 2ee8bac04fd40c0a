/**
 * What a deployed stack wants on its hosts, read from its state (`pulumi stack export --show-secrets`): each
 * remote step's host and SSH connection, the files its apply script writes (with the values it got on stdin), and
 * the units it keeps enabled and running. The intent is the last deploy's, the same scripts and values the steps
 * ran with. Pure.
 */
import { fillPlaceholders, ManagedFile, parseApplyScript, parsePayload, placeholders, scriptOfCommand } from "../lib/render/apply-script";

/** The signature Pulumi puts on a secret value in an exported deployment. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A deployment's value with its secrets unwrapped (an exported secret is `{sig, plaintext: JSON}`). */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") {
            if (typeof o.plaintext !== "string") throw new Error("an exported secret has no plaintext: export the stack with --show-secrets");
            return unwrapSecrets(JSON.parse(o.plaintext));
        }
        return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** One remote step as deployed. */
export type DeployedStep = {
    urn: string;
    name: string;
    /** The files it writes, placeholders as in the script. */
    files: ManagedFile[];
    /** The values it got on stdin (secrets among them), by placeholder name. */
    values: Record<string, string>;
    /** Names of the values that are secrets (`@@secret:` placeholders): never shown in a report. */
    secretNames: string[];
    /** Units its script keeps enabled and running (`enableNow`). */
    units: string[];
};

/** One host and the steps that configure it. */
export type DeployedHost = {
    /** `user@host:port`, as the steps reach it. */
    id: string;
    host: string;
    port: number;
    user: string;
    /** The steps' private key; undefined: the SSH agent, as the deploy used. */
    privateKey?: string;
    steps: DeployedStep[];
};

const STEP_TYPE = "command:remote:Command";

/** The units an apply script keeps enabled and running (the lines `enableNow` renders). */
export function unitsOf(script: string): string[] {
    return [...script.matchAll(/if ! systemctl is-enabled --quiet ([A-Za-z0-9@._-]+) \|\| ! systemctl is-active --quiet \1; then/g)].map((m) => m[1]);
}

/** The hosts of a deployment (`deployment` of an exported stack, secrets shown), in the order of their first step. */
export function deployedHosts(deployment: { resources?: Record<string, unknown>[] }): DeployedHost[] {
    const hosts = new Map<string, DeployedHost>();
    for (const r of deployment.resources ?? []) {
        if (r.type !== STEP_TYPE || r.delete === true) continue;
        const inputs = unwrapSecrets(r.inputs ?? {}) as Record<string, any>;
        const script = scriptOfCommand(String(inputs.create ?? ""));
        if (script === undefined) continue; // a command of the user's, not an apply script
        const c = inputs.connection ?? {};
        const host = String(c.host ?? "");
        if (!host) continue;
        const port = Number(c.port ?? 22);
        const user = String(c.user ?? "root");
        const id = `${user}@${host}:${port}`;
        const files = parseApplyScript(script);
        const secretNames = [...new Set(files.flatMap((f) => placeholders(f.content).filter((p) => p.kind === "secret").map((p) => p.name)))];
        const step: DeployedStep = {
            urn: String(r.urn),
            name: String(r.urn).split("::").pop()!,
            files,
            values: inputs.stdin ? parsePayload(String(inputs.stdin)) : {},
            secretNames,
            units: unitsOf(script),
        };
        const known = hosts.get(id);
        if (known) known.steps.push(step);
        else hosts.set(id, { id, host, port, user, privateKey: c.privateKey || undefined, steps: [step] });
    }
    return [...hosts.values()];
}

/** A file's content as the step installs it: its placeholders filled with the step's values. */
export const wantedContent = (step: DeployedStep, file: ManagedFile) => fillPlaceholders(file.content, step.values);
