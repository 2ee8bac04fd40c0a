/**
 * How every checklist policy is built: its name carries the checklist ID, it has a description, severity,
 * remediation, the ID in its tags and compliance framework, an explicit enforcement level (prod's: mandatory;
 * the staging pack config lowers it per the checklist's levels), and a config schema with the environment and the
 * waivers. Violations on a waived resource are not reported while the waiver is valid.
 */
import { UnknownValueError } from "@pulumi/policy";
import type { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { ApplyScript, plannedStepName, renderApplyScript, stepCommand } from "../lib/render/apply-script";
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
    /**
     * `resource`: the check sees one resource alone, as the engine registers it (before its step runs); `stack`:
     * it sees them all.
     */
    scope: "resource" | "stack";
    /** Report a violation of this control on a resource, unless a valid waiver covers it. */
    report: (message: string, on: { name: string; urn: string }) => void;
    /**
     * Report that something the control needs is missing from the stack (no step ships it). Only the whole stack
     * can say so: a resource judged alone reports nothing through it.
     */
    missing: (message: string, on: { name: string; urn: string }) => void;
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

export type ChecklistPolicy = StackValidationPolicy & {
    checklistId: ChecklistId;
    /** The resource types judged one by one as the engine registers them (see {@link stackPolicy}); empty: stack only. */
    resourceTypes: readonly string[];
    validateResource?: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void;
};

function context(id: ChecklistId, config: PolicyConfig, reportViolation: Reporter, scope: Context["scope"], skip?: (message: string, urn: string) => boolean): Context {
    const report = (message: string, on: { name: string; urn: string }) => {
        if (skip?.(message, on.urn)) return;
        const w = activeWaiver(config, id, on);
        if (w) {
            reportViolation.waived?.(message, w, on.urn);
            return;
        }
        reportViolation(message, on.urn);
    };
    return { config, prod: config.environment === "prod", scope, report, missing: scope === "stack" ? report : () => undefined };
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

type Check = (resources: readonly ResourceLike[], ctx: Context) => void;

/**
 * A checklist policy. `check` judges the stack's resources; what it reports as absent goes through `ctx.missing`.
 *
 * With `resourceTypes`, the policy is also a resource policy: the engine calls it for each resource of those types
 * as the resource is registered, before its step runs, in every mode (`pulumi preview`, `pulumi up`, `up
 * --skip-preview`, the Automation API's `up()`), and `check` then sees that resource alone (`ctx.scope`
 * `resource`). A step whose own files break the control is refused even if another resource's files would hide it:
 * each must hold on its own. The stack check then adds only what the resources show together (a file of one step
 * overriding another's, something no step ships), so no finding is reported twice. A value the engine does not
 * know yet (a first preview) leaves the resource to the stack check. A policy that judges remote steps also judges
 * each component that carries its steps' plan ({@link HOST_PLAN_CARRIERS}): those steps together, when the
 * component is registered, before the first of them.
 */
export function stackPolicy(c: Common & { check: Check; resourceTypes?: readonly string[] }): ChecklistPolicy {
    const types = c.resourceTypes ?? [];
    /** What the check says of one resource alone, as `message\0urn` keys. */
    const alone = (r: ResourceLike, config: PolicyConfig): Set<string> => {
        const said = new Set<string>();
        const collect = ((message: string, urn?: string) => said.add(`${message}\0${urn}`)) as Reporter;
        collect.waived = (message, _w, urn) => said.add(`${message}\0${urn}`);
        // As the engine registers it: no dependencies known (the properties object stays, and with it the parse).
        judgeAlone(c.check, [{ type: r.type, name: r.name, urn: r.urn, props: r.props, deps: {} }], context(c.id, config, collect, "resource"));
        return said;
    };
    return {
        ...base(c),
        resourceTypes: types,
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const config = args.getConfig<PolicyConfig>();
            const resources = stackResources(args.resources);
            const said = new Map<string, Set<string>>();
            const byUrn = types.length ? new Map(resources.map((r) => [r.urn, r])) : undefined;
            const skip = types.length
                ? (message: string, urn: string) => {
                      const r = byUrn!.get(urn);
                      if (!r || !types.includes(r.type)) return false;
                      if (!said.has(urn)) said.set(urn, alone(r, config));
                      return said.get(urn)!.has(`${message}\0${urn}`);
                  }
                : undefined;
            c.check(resources, context(c.id, config, reportViolation as Reporter, "stack", skip));
        },
        ...(types.length
            ? {
                  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
                      const planned = (HOST_PLAN_CARRIERS as readonly string[]).includes(args.type) && types.includes("command:remote:Command");
                      if (!types.includes(args.type) && !planned) return;
                      judgeAlone(c.check, resourceViews(args), context(c.id, args.getConfig<PolicyConfig>(), reportViolation as Reporter, "resource"));
                  },
              }
            : {}),
    };
}

/** Runs a check on one resource alone; a value the engine does not know yet ends it (the stack check judges then). */
function judgeAlone(check: Check, resources: readonly ResourceLike[], ctx: Context): void {
    try {
        check(resources, ctx);
    } catch (err) {
        if (!(err instanceof UnknownValueError)) throw err;
    }
}

/**
 * The components that carry their steps' plan (lib/render/apply-script.ts `HostPlan`): judged as those steps
 * together, each under its own name, with the findings on the component (its steps are not registered yet).
 */
export const HOST_PLAN_CARRIERS = ["webapp:host:HostHardening"] as const;

/**
 * A registered resource as the checks read it, with no dependencies (a resource policy is not told them); its files
 * are parsed once per script text (policies/parse.ts), though the analyzer deserializes the properties per policy.
 * A plan carrier reads as its planned steps.
 */
function resourceViews(args: ResourceValidationArgs): ResourceLike[] {
    if (!(HOST_PLAN_CARRIERS as readonly string[]).includes(args.type)) return [{ type: args.type, name: args.name, urn: args.urn, props: args.props, deps: {} }];
    // Rendered once per properties object (the offline plan passes every policy the same one).
    let views = plannedViews.get(args.props);
    if (!views) {
        const steps = (args.props.plan?.steps ?? []) as ApplyScript[];
        views = steps.map((script) => ({ type: "command:remote:Command", name: plannedStepName(args.name, script), urn: args.urn, props: { create: stepCommand(renderApplyScript(script)) }, deps: {} }));
        plannedViews.set(args.props, views);
    }
    return views;
}
const plannedViews = new WeakMap<object, ResourceLike[]>();

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

/** The cloud servers' types. */
const SERVER_TYPES = ["hcloud:index/server:Server", "aws:ec2/instance:Instance"] as const;

/** The resources that ship files to a host: remote steps (their scripts) and servers (cloud-init user data). */
export const HOST_FILE_CARRIERS = ["command:remote:Command", ...SERVER_TYPES] as const;

/** The servers of a stack: cloud servers, and the hosts the remote steps configure. */
export const isServer = (r: ResourceLike) => (SERVER_TYPES as readonly string[]).includes(r.type);
export const hasHosts = (resources: readonly ResourceLike[]) => resources.some((r) => isServer(r) || r.type === "command:remote:Command");

/** Where a stack-level finding about a missing host step is reported: the first remote step (or server). */
export const firstStep = (resources: readonly ResourceLike[]) => resources.find((r) => r.type === "command:remote:Command") ?? resources.find(isServer);
