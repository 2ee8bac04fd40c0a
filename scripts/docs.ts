/**
 * `npm run docs`: writes docs/config.md (every config key: type, default, meaning, the value of each stack),
 * docs/policies.md (every policy: control, name, severity, level per stack, what it checks, how to fix) and
 * docs/checklist.md (the security checklist: every control with its stable ID, its levels and the policies that
 * enforce it) and docs/app-contract.md (scripts/app-contract.ts) from the code. tests/docs.test.ts fails when they
 * are stale.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import markdownTable from "markdown-table";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigKeySpec, PROJECT } from "../lib/config-schema";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import { CHECKLIST, CHECKLIST_IDS, levelFor } from "../policies/checklist";
import type { ChecklistPolicy } from "../policies/support";
import { Facts, renderAppContract, SETUPS } from "./app-contract";

const ROOT = path.join(__dirname, "..");
const STACKS = ["staging", "prod"];
/**
 * Markdown text with `<…>` placeholders escaped outside code spans, so GitHub shows them instead of taking them
 * for HTML tags and dropping them.
 */
export const escapeAngles = (s: string) => s.split(/(`[^`]*`)/).map((part, i) => (i % 2 ? part : part.replace(/</g, "&lt;").replace(/>/g, "&gt;"))).join("");
const cell = (s: string) => escapeAngles(s.replace(/\|/g, "\\|").replace(/\n/g, " "));
const show = (v: unknown) => (v === undefined ? "" : `\`${typeof v === "string" ? v : JSON.stringify(v)}\``);

export function configReference(): string {
    const stacks = Object.fromEntries(STACKS.map((s) => [s, (parse(fs.readFileSync(path.join(ROOT, `Pulumi.${s}.yaml`), "utf8")).config ?? {}) as Record<string, unknown>]));
    const rows = Object.entries(CONFIG_KEYS as Record<string, ConfigKeySpec>).map(([key, spec]) => [
        `\`${PROJECT}:${key}\``,
        `${spec.type}${spec.secret ? " (secret)" : ""}`,
        spec.default !== undefined ? show(spec.default) : spec.optional ? "unset" : "**required**",
        cell(spec.description),
        ...STACKS.map((s) => cell(show(stacks[s][`${PROJECT}:${key}`]) || "default")),
    ]);
    return [
        "# Configuration reference",
        "",
        "Generated from `lib/config-schema.ts` and the stack files by `npm run docs`; do not edit by hand.",
        "Set a value with `pulumi config set webapp:<key> <value> --stack <stack>` (lists with `--path 'webapp:<key>[0]'`),",
        "secrets with `--secret`. Every value is validated before any resource is created.",
        "",
        markdownTable([["Key", "Type", "Default", "Meaning", ...STACKS], ...rows]),
        "",
        "Provider settings are set per stack as well: `pulumi config set --secret hcloud:token` (Hetzner Cloud API token),",
        "and AWS credentials in the environment when a stack uses AWS (provider aws, Secrets Manager, off-site backups).",
        "",
    ].join("\n");
}

export function policyReference(): string {
    const configs = Object.fromEntries(STACKS.map((s) => [s, packConfig(s)]));
    const level = (stack: string, name: string) => {
        const e = configs[stack][name];
        return typeof e === "string" ? e : e?.enforcementLevel ?? "mandatory";
    };
    const kind = (p: (typeof ALL_POLICIES)[number]) => ("validateResource" in p && p.validateResource ? "resource + stack" : "stack");
    const rows = ALL_POLICIES.map((p) => [
        (p as ChecklistPolicy).checklistId ?? "—",
        // An anchor per policy: the SARIF rules' helpUri points at it.
        `<a id="${p.name}"></a>\`${p.name}\``,
        kind(p),
        p.severity ?? "",
        ...STACKS.map((s) => level(s, p.name)),
        cell(p.description.replace(/^[A-Z]+-\d+: /, "")),
        cell(p.remediationSteps ?? ""),
    ]);
    return [
        "# Policy reference",
        "",
        "Generated from `policies/` by `npm run docs`; do not edit by hand. Levels per stack come from",
        "`policies/config/<stack>.json` (`npm run policy-config`). Run them with `npm run plan -- --stack <stack>` or",
        "`pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`.",
        "",
        "Kind: a **resource + stack** policy judges each resource it names (remote steps, servers' user data, firewalls;",
        "the HostHardening component with every step it plans) as the engine registers it, before that resource is",
        "created or its step runs, in every mode: `pulumi preview`, `pulumi up`, `pulumi up --skip-preview` and the",
        "Automation API's `up()`. Its stack check adds what only the resources together show. A **stack** policy is",
        "judged once every resource is registered: at `pulumi preview` (which `pulumi up` runs first unless told to",
        "skip it) and at the end of an update, after its steps ran.",
        "",
        `${ALL_POLICIES.filter((p) => kind(p) === "resource + stack").length} resource + stack policies, ${ALL_POLICIES.filter((p) => kind(p) === "stack").length} stack policies.`,
        "",
        markdownTable([["Control", "Policy", "Kind", "Severity", ...STACKS.map((s) => `Level (${s})`), "What it checks", "How to fix"], ...rows]),
        "",
    ].join("\n");
}

/** The checklist's families, in its order, by ID prefix. */
const FAMILIES: [string, string][] = [
    ["NET", "Network"],
    ["SSH", "SSH"],
    ["HOST", "Host"],
    ["TLS", "TLS"],
    ["HDR", "Security headers"],
    ["RL", "Rate limits"],
    ["PX", "Reverse proxy"],
    ["SVC", "The app's service"],
    ["SEC", "Secrets"],
    ["DB", "Database"],
    ["BK", "Backups"],
    ["LOG", "Logs"],
    ["MON", "Monitoring"],
    ["PROT", "Protection of state"],
];

export function checklistReference(): string {
    const enforcedBy = (id: string) => ALL_POLICIES.filter((p) => (p as ChecklistPolicy).checklistId === id).map((p) => `\`${p.name}\``).join(", ");
    const missing = CHECKLIST_IDS.filter((id) => !FAMILIES.some(([prefix]) => id.startsWith(`${prefix}-`)));
    if (missing.length) throw new Error(`docs: no family for ${missing.join(", ")}`);
    return [
        "# The security checklist",
        "",
        "Generated from `policies/checklist.ts` and the policy pack by `npm run docs`; do not edit by hand.",
        "",
        "Every row is one control of the deployment guides this project automates. Its ID is stable: policies, waivers,",
        "reports and tests name it. A control is enforced when a violating change is blocked by a mandatory policy before",
        "any stack update (`pulumi preview`/`pulumi up` with the pack, and `npm run plan`), with a message that says how to",
        "fix it. Levels: every control is mandatory in prod; in staging NET, SSH, SEC, TLS-1..3 and DB-1 are mandatory and",
        "the rest advisory, unless `policies/config/staging.json` says otherwise. [docs/policies.md](policies.md) explains",
        "each policy.",
        "",
        ...FAMILIES.flatMap(([prefix, title]) => [
            `## ${title}`,
            "",
            markdownTable([
                ["ID", "Control", "prod", "staging", "Enforced by"],
                ...CHECKLIST_IDS.filter((id) => id.startsWith(`${prefix}-`)).map((id) => [id, cell(CHECKLIST[id]), levelFor(id, "prod"), levelFor(id, "staging"), enforcedBy(id)]),
            ]),
            "",
        ]),
    ].join("\n");
}

/** The README with a stack's diagram between its `<!-- graph:<stack> -->` markers. */
export function withGraph(readme: string, stack: string, diagram: string): string {
    const open = `<!-- graph:${stack} -->`;
    const close = `<!-- /graph:${stack} -->`;
    const a = readme.indexOf(open);
    const b = readme.indexOf(close);
    if (a < 0 || b < a) throw new Error(`README.md has no ${open} ... ${close} markers`);
    return `${readme.slice(0, a + open.length)}\n${diagram}${readme.slice(b)}`;
}

if (require.main === module && process.argv[2] === "--graph") {
    // One stack per process (the Pulumi runtime holds one stack).
    void (async () => {
        const { runProgram } = await import("../plan/run");
        const { mermaid } = await import("../plan/graph");
        const run = await runProgram({ stack: process.argv[3] });
        if (run.error) throw run.error;
        process.stdout.write(mermaid(run));
    })();
} else if (require.main === module) {
    fs.mkdirSync(path.join(ROOT, "docs"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, "docs", "config.md"), configReference());
    fs.writeFileSync(path.join(ROOT, "docs", "policies.md"), policyReference());
    fs.writeFileSync(path.join(ROOT, "docs", "checklist.md"), checklistReference());
    // Each setup runs the program offline in its own process (the Pulumi runtime holds one stack per process).
    const setups = SETUPS.map((setup) => {
        const child = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, "app-contract.ts"), "--facts", setup.stack, JSON.stringify(setup.overrides)], { cwd: ROOT, encoding: "utf8" });
        if (child.status !== 0) throw new Error(`app contract, ${setup.label}: ${child.stderr}`);
        return { setup, facts: JSON.parse(child.stdout) as Facts };
    });
    fs.writeFileSync(path.join(ROOT, "docs", "app-contract.md"), renderAppContract(setups));
    let readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    for (const stack of STACKS) {
        const child = spawnSync(process.execPath, [...process.execArgv, __filename, "--graph", stack], { cwd: ROOT, encoding: "utf8" });
        if (child.status !== 0) throw new Error(`graph of ${stack}: ${child.stderr}`);
        readme = withGraph(readme, stack, child.stdout);
    }
    fs.writeFileSync(path.join(ROOT, "README.md"), readme);
}
