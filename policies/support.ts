/**
 * How every checklist policy is built: its name carries the checklist ID, it has a description, severity,
 * remediation, the ID in its tags and compliance framework, an explicit enforcement level (prod's: mandatory;
 * the staging pack config lowers it per the checklist's levels), and a config schema with the environment and the
 * waivers. Violations on a waived resource are not reported while the waiver is valid.
 */
import type { PolicyConfigSchema, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { CHECKLIST, ChecklistId, Environment } from "./checklist";
import type { ResourceLike } from "./parse";

/** One control waived for one resource until a date. */
export type Waiver = {
    /** Checklist ID, e.g. `NET-1`. */
    control: string;
    /** Resource name (as in `pulumi stack`) or full URN. */
    resource: string;
    /** Why, at least 10 characters. */
    reason: string;
    /** Who answers for it. */
    owner: string;
    /** Last day it applies, `YYYY-MM-DD` (UTC). */
    expires: string;
};

export type PolicyConfig = { environment: Environment; waivers: Waiver[] };

export const POLICY_CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: {
        environment: { type: "string", enum: ["staging", "prod"], default: "prod", description: "Which rules of the checklist apply (prod is the stricter)." },
        waivers: {
            type: "array",
            default: [],
            description: "Waivers: control, resource, reason (>= 10 characters), owner, expires (YYYY-MM-DD).",
            items: { type: "object" },
        },
    },
};

/** Problems with a waiver; empty when it is well formed. */
export function waiverProblems(w: Partial<Waiver>): string[] {
    const problems: string[] = [];
    if (!w.control || !(w.control in CHECKLIST)) problems.push(`control ${JSON.stringify(w.control)} is not a checklist ID`);
    if (!w.resource) problems.push("resource is missing");
    if (!w.reason || w.reason.trim().length < 10) problems.push("reason must say why in at least 10 characters");
    if (!w.owner || !w.owner.trim()) problems.push("owner is missing");
    if (!w.expires || !/^\d{4}-\d{2}-\d{2}$/.test(w.expires) || Number.isNaN(Date.parse(`${w.expires}T00:00:00Z`))) problems.push(`expires ${JSON.stringify(w.expires)} is not a YYYY-MM-DD date`);
    return problems;
}

/** A waiver applies through the end of its expiry day (UTC). */
export function waiverExpired(w: Waiver, now: Date = new Date()): boolean {
    return Date.parse(`${w.expires}T23:59:59.999Z`) < now.getTime();
}

export function activeWaiver(config: PolicyConfig, control: ChecklistId, r: { name: string; urn: string }, now: Date = new Date()): Waiver | undefined {
    return (config.waivers ?? []).find((w) => w.control === control && (w.resource === r.name || w.resource === r.urn) && waiverProblems(w).length === 0 && !waiverExpired(w, now));
}

/** The report callback of the offline plan also learns about waived violations; the engine's does not. */
export type Reporter = ReportViolation & { waived?: (message: string, waiver: Waiver, urn?: string) => void };

export type Context = {
    config: PolicyConfig;
    prod: boolean;
    /** Report a violation of this control on a resource, unless a valid waiver covers it. */
    report: (message: string, on: { name: string; urn: string }) => void;
};

type Common = {
    id: ChecklistId;
    /** Kebab-case remainder of the name, after the lowercase ID. */
    slug: string;
    description: string;
    severity: Severity;
    /** How to fix a violation, in general terms (each message also says it for its case). */
    remediation: string;
};

export type ChecklistPolicy = StackValidationPolicy & { checklistId: ChecklistId };

function context(id: ChecklistId, config: PolicyConfig, reportViolation: Reporter): Context {
    return {
        config,
        prod: config.environment === "prod",
        report: (message, on) => {
            const w = activeWaiver(config, id, on);
            if (w) {
                reportViolation.waived?.(message, w, on.urn);
                return;
            }
            reportViolation(message, on.urn);
        },
    };
}

const base = (c: Common) => ({
    name: `${c.id.toLowerCase()}-${c.slug}`,
    description: `${c.id}: ${c.description}`,
    enforcementLevel: "mandatory" as const,
    severity: c.severity,
    remediationSteps: c.remediation,
    tags: [c.id, c.id.split("-")[0]],
    framework: { name: "webapp-security-checklist", version: "1", reference: "docs/checklist.md", specification: c.id },
    configSchema: POLICY_CONFIG_SCHEMA,
    checklistId: c.id,
});

/** A policy that judges the whole stack (what spans resources, and the files the remote steps ship). */
export function stackPolicy(c: Common & { check: (resources: StackResource[], ctx: Context) => void }): ChecklistPolicy {
    return {
        ...base(c),
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const config = args.getConfig<PolicyConfig>();
            c.check(stackResources(args.resources), context(c.id, config, reportViolation as Reporter));
        },
    };
}

type StackResource = ResourceLike & { opts: StackValidationArgs["resources"][number]["opts"] };

/**
 * The resources as the checks read them, once per list the analyzer passes (the offline plan passes every policy
 * the same list). In URN order: the engine lists a stack's resources in another order than the program registers
 * them, and a finding must land on the same resource under the engine and in the offline plan. The property
 * dependencies as URNs, made when a check first reads them.
 */
function stackResources(list: StackValidationArgs["resources"]): StackResource[] {
    let out = viewOf.get(list);
    if (out) return out;
    out = list.map((r) => {
        let deps: Record<string, string[]> | undefined;
        return {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: r.props,
            opts: r.opts,
            get deps() {
                deps ??= Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, v]) => [k, v.map((d) => d.urn)]));
                return deps;
            },
        };
    });
    out.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    viewOf.set(list, out);
    return out;
}
const viewOf = new WeakMap<object, StackResource[]>();

/** The servers of a stack: cloud servers, and the hosts the remote steps configure. */
export const isServer = (r: ResourceLike) => r.type === "hcloud:index/server:Server" || r.type === "aws:ec2/instance:Instance";
export const hasHosts = (resources: readonly ResourceLike[]) => resources.some((r) => isServer(r) || r.type === "command:remote:Command");

/** Where a stack-level finding about a missing host step is reported: the first remote step (or server). */
export const firstStep = (resources: readonly ResourceLike[]) => resources.find((r) => r.type === "command:remote:Command") ?? resources.find(isServer);
