/**
 * Evaluates the policy pack against a recorded program run the way the engine's analyzer calls it: every
 * policy's resource check on each resource in registration order (type, name, URN, properties with secrets
 * unwrapped, options), then its stack check with all resources (parents and dependencies resolved); each policy's
 * config resolved from its schema defaults and the pack config, and its enforcement level from the pack config.
 *
 * Unknown values (a run with `firstDeploy`) reach the policies as the analyzer passes them: behind
 * @pulumi/policy's own `unknownCheckingProxy`, so a policy that reads one throws its `UnknownValueError`. The
 * engine then skips the policy with an advisory "can't run … during preview"; the plan records the same finding
 * as `notJudged`, at the policy's own level: a mandatory control that cannot be judged before the update is not
 * enforced, and fails the plan.
 */
import type {
    EnforcementLevel,
    Policy,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { unknownCheckingProxy, UnknownValueError } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import type { PackConfig } from "../policies/pack-config";
import type { ChecklistPolicy, Reporter, Waiver } from "../policies/support";
import type { PlanRun, RecordedResource } from "./run";
import { unwrapSecrets } from "./secrets";

export type Finding = {
    policy: string;
    checklistId?: string;
    level: EnforcementLevel;
    severity?: string;
    message: string;
    urn?: string;
    resource?: { type: string; name: string };
    /** Set when a valid waiver covers the finding; waived findings never fail a plan. */
    waiver?: Waiver;
    /** The policy read a value unknown before the update, so it could not judge the stack (the engine skips it). */
    notJudged?: boolean;
};

export type Evaluation = {
    findings: Finding[];
    /** Policies that said they do not apply, with their reason. */
    notApplicable: { policy: string; reason?: string }[];
    /** Every waiver in the config (reports list them all). */
    waivers: Waiver[];
    /** Milliseconds spent in policy code. */
    elapsedMs: number;
    policiesRun: number;
};

class NotApplicable extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "not applicable");
    }
}

function options(r: RecordedResource): PolicyResourceOptions {
    return {
        protect: r.protect,
        ignoreChanges: r.ignoreChanges,
        deleteBeforeReplace: r.deleteBeforeReplace,
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: r.additionalSecretOutputs,
        parent: r.parent,
    };
}

/** The engine's wire form of an unknown value; @pulumi/policy's proxy knows it as `unknownStringValue`. */
const UNKNOWN = pulumi.runtime.unknownValue;

/** Unknowns (`pulumi.Output`'s `unknown`) in the wire form the analyzer receives them. */
function wireUnknowns(v: unknown): unknown {
    if (pulumi.isUnknown(v)) return UNKNOWN;
    if (Array.isArray(v)) return v.map(wireUnknowns);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wireUnknowns(x)]));
    return v;
}

/** Properties: the inputs, completed by what the provider returned (as the analyzer sees a resource after a step). */
const propsOf = (r: RecordedResource) => unknownCheckingProxy(wireUnknowns(unwrapSecrets({ ...r.outputs, ...r.inputs })) as Record<string, unknown>);

function levelOf(policy: Policy, config: PackConfig): EnforcementLevel {
    const entry = config[policy.name];
    const all = config.all;
    if (typeof entry === "string") return entry;
    return entry?.enforcementLevel ?? (typeof all === "string" ? all : undefined) ?? policy.enforcementLevel ?? "advisory";
}

function configOf(policy: Policy, config: PackConfig): Record<string, unknown> {
    const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).filter(([, s]) => (s as { default?: unknown }).default !== undefined).map(([k, s]) => [k, (s as { default: unknown }).default]));
    const entry = config[policy.name];
    const own = typeof entry === "object" ? Object.fromEntries(Object.entries(entry).filter(([k]) => k !== "enforcementLevel")) : {};
    return { ...defaults, ...own };
}

export function evaluate(run: PlanRun, policies: readonly Policy[], config: PackConfig): Evaluation {
    const resources = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const byUrn = new Map<string, PolicyResource>();
    const asPolicyResource = (r: RecordedResource): PolicyResource => {
        const existing = byUrn.get(r.urn);
        if (existing) return existing;
        const pr = {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: propsOf(r),
            opts: options(r),
            dependencies: [] as PolicyResource[],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        } as unknown as PolicyResource;
        byUrn.set(r.urn, pr);
        return pr;
    };
    const stackResources = resources.map(asPolicyResource);
    for (const r of resources) {
        const pr = byUrn.get(r.urn)! as { parent?: PolicyResource; dependencies: PolicyResource[]; propertyDependencies: Record<string, PolicyResource[]> };
        pr.parent = r.parent ? byUrn.get(r.parent) : undefined;
        pr.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
        pr.propertyDependencies = Object.fromEntries(
            Object.entries(r.propertyDependencies ?? {}).map(([k, urns]) => [k, urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => !!d)]),
        );
    }

    const findings: Finding[] = [];
    const notApplicable: Evaluation["notApplicable"] = [];
    let policiesRun = 0;
    const started = process.hrtime.bigint();
    for (const policy of policies) {
        const level = levelOf(policy, config);
        if (level === "disabled") continue;
        policiesRun++;
        const cfg = configOf(policy, config);
        const base = { policy: policy.name, checklistId: (policy as ChecklistPolicy).checklistId, level, severity: policy.severity };
        const record = (message: string, urn?: string, waiver?: Waiver) => {
            const r = urn ? byUrn.get(urn) : undefined;
            findings.push({ ...base, message, urn, resource: r ? { type: r.type, name: r.name } : undefined, ...(waiver ? { waiver } : {}) });
        };
        const report = ((message: string, urn?: string) => record(message, urn)) as Reporter;
        report.waived = (message, waiver, urn) => record(message, urn, waiver);
        const args: StackValidationArgs = {
            stackTags: new Map<string, string>(),
            getConfig: <T extends object>() => cfg as T,
            notApplicable: (reason?: string): never => {
                throw new NotApplicable(reason);
            },
            resources: stackResources,
        };
        try {
            // As the engine: a resource policy judges each resource when it is registered, the stack policy after.
            const validateResource = (policy as ResourceValidationPolicy).validateResource;
            if (Array.isArray(validateResource)) throw new Error(`policy ${policy.name}: a list of resource validations is not evaluated offline`);
            if (validateResource) {
                for (const r of resources) {
                    const pr = byUrn.get(r.urn)!;
                    const resourceArgs = {
                        type: r.type,
                        name: r.name,
                        urn: r.urn,
                        // The stack's own view of the properties: the engine deserializes them per policy, but
                        // they are the same values, and a policy only reads them.
                        props: pr.props,
                        opts: pr.opts,
                        stackTags: args.stackTags,
                        getConfig: args.getConfig,
                        notApplicable: args.notApplicable,
                        isType: () => false,
                        asType: () => undefined,
                    } as unknown as ResourceValidationArgs;
                    void validateResource(resourceArgs, report);
                }
            }
            const validateStack = (policy as StackValidationPolicy).validateStack;
            if (!validateStack) throw new Error("only policies with a stack check are evaluated offline; make it a stackPolicy");
            void validateStack(args, report);
        } catch (err) {
            if (err instanceof NotApplicable) notApplicable.push({ policy: policy.name, reason: err.reason });
            else if (err instanceof UnknownValueError) {
                // As the engine: the policy stops there; what it reported before the throw stands.
                findings.push({ ...base, message: `can't run policy '${policy.name}' during preview: ${(err as Error).message}`, notJudged: true });
            } else throw new Error(`policy ${policy.name} failed: ${(err as Error).stack ?? String(err)}`);
        }
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const waivers = [...new Map(Object.values(config).flatMap((c) => (typeof c === "object" ? ((c.waivers as Waiver[]) ?? []) : [])).map((w) => [JSON.stringify(w), w])).values()];
    return { findings, notApplicable, waivers, elapsedMs, policiesRun };
}

/** Findings that fail a plan: mandatory and not waived. */
export const blocking = (e: Evaluation) => e.findings.filter((f) => f.level === "mandatory" && !f.waiver);
