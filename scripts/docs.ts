/**
 * `npm run docs`: writes docs/config.md (every config key: type, default, meaning, the value of each stack) and
 * docs/policies.md (every policy: control, name, severity, level per stack, what it checks, how to fix) from the
 * code. tests/docs.test.ts fails when they are stale.
 */
import * as fs from "fs";
import * as path from "path";
import markdownTable from "markdown-table";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigKeySpec, PROJECT } from "../lib/config-schema";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import type { ChecklistPolicy } from "../policies/support";

const ROOT = path.join(__dirname, "..");
const STACKS = ["staging", "prod"];
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
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
    const rows = ALL_POLICIES.map((p) => [
        (p as ChecklistPolicy).checklistId ?? "—",
        `\`${p.name}\``,
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
        markdownTable([["Control", "Policy", "Severity", ...STACKS.map((s) => `Level (${s})`), "What it checks", "How to fix"], ...rows]),
        "",
    ].join("\n");
}

if (require.main === module) {
    fs.mkdirSync(path.join(ROOT, "docs"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, "docs", "config.md"), configReference());
    fs.writeFileSync(path.join(ROOT, "docs", "policies.md"), policyReference());
}
