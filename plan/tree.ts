/**
 * Renders a recorded program run as a resource tree with each resource's key settings. Pure.
 */
import * as crypto from "crypto";
import type { PlanRun, RecordedResource } from "./run";
import { isSecret } from "./secrets";

/** Inputs that are noise in a tree view (shown elsewhere, or too long). */
const HIDDEN = new Set(["labels", "tags", "tagsAll", "description", "publicKey", "assumeRolePolicy", "policy", "keepers", "__defaults"]);

function summarize(key: string, value: unknown): string | undefined {
    if (HIDDEN.has(key) || value === undefined || value === null || value === "") return undefined;
    if (isSecret(value)) return `${key}=[secret]`;
    if (typeof value === "string" && (key === "userData" || value.includes("\n"))) {
        return `${key}=<${value.split("\n").length} lines, ${Buffer.byteLength(value)}B, sha256:${crypto.createHash("sha256").update(value).digest("hex").slice(0, 12)}>`;
    }
    if ((key === "rules" || key === "ingress") && Array.isArray(value) && value.every((r) => r && typeof r === "object" && "protocol" in r)) {
        const rules = value as Record<string, unknown>[];
        return `${key}=[${rules
            .map((r) => {
                const port = r.port ?? (r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`);
                const sources = (r.sourceIps as string[] | undefined) ?? [...((r.cidrBlocks as string[]) ?? []), ...((r.ipv6CidrBlocks as string[]) ?? [])];
                return `${r.direction ?? "in"} ${r.protocol}/${port} from ${sources.join(",")}`;
            })
            .join("; ")}]`;
    }
    if (typeof value === "string") return `${key}=${value.length > 60 ? value.slice(0, 57) + "..." : value}`;
    if (typeof value === "number" || typeof value === "boolean") return `${key}=${value}`;
    if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number")) {
        return `${key}=[${value.map((v) => (typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? `sha256:${v.slice(0, 12)}` : v)).join(",")}]`;
    }
    if (typeof value === "object" && !Array.isArray(value)) {
        const inner = Object.entries(value as Record<string, unknown>)
            .map(([k, v]) => summarize(k, v))
            .filter((s): s is string => s !== undefined);
        return inner.length ? `${key}={${inner.join(" ")}}` : undefined;
    }
    return `${key}=<${Array.isArray(value) ? `${value.length} items` : typeof value}>`;
}

export function keySettings(r: RecordedResource): string[] {
    const settings = Object.entries(r.inputs)
        .filter(([k]) => k !== "name" || r.inputs.name !== r.name)
        .map(([k, v]) => summarize(k, v))
        .filter((s): s is string => s !== undefined);
    if (r.protect) settings.unshift("[protected]");
    if (r.ignoreChanges.length) settings.push(`ignoreChanges=${r.ignoreChanges.join(",")}`);
    return settings;
}

/** The tree as text lines. */
export function renderTree(run: PlanRun): string[] {
    const children = new Map<string | undefined, RecordedResource[]>();
    for (const r of run.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    const lines: string[] = [];
    const walk = (r: RecordedResource, prefix: string, last: boolean, root: boolean) => {
        const settings = r.custom ? keySettings(r) : [];
        lines.push(`${root ? "" : prefix + (last ? "└─ " : "├─ ")}${r.type}  ${r.name}${settings.length ? "  " + settings.join(" ") : ""}`);
        const kids = [...(children.get(r.urn) ?? [])].sort((a, b) => Number(a.custom) - Number(b.custom) || a.name.localeCompare(b.name));
        kids.forEach((k, i) => walk(k, root ? "" : prefix + (last ? "   " : "│  "), i === kids.length - 1, false));
    };
    for (const root of children.get(undefined) ?? []) walk(root, "", true, true);
    return lines;
}

export function renderOutputs(outputs: Record<string, unknown>): string[] {
    return Object.entries(outputs).map(([k, v]) => `  ${k}: ${isSecret(v) ? "[secret]" : JSON.stringify(v)}`);
}
