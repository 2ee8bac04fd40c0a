/**
 * The policy pack, run on the hosts as they are. The stack's state is the intent the pack passed before the
 * deploy; here every managed file of a probed host is replaced by what the host has (its values and secrets put
 * back as the placeholders the pack judged), and the nginx files no step manages (`nginx -T`: an admin's conf.d
 * file) are added as the host's own. The pack then judges that stack with the same policies, names and levels as
 * the plan, and every finding the intent does not have is the host's: a weakened TLS setting, a header removed, an
 * alert threshold raised, a unit's sandbox loosened. Pure.
 */
import type { Policy } from "@pulumi/policy";
import { ManagedFile, placeholders, renderApplyScript, replaceApplyScriptFiles, safeFilePath, scriptOfCommand, stepCommand } from "../lib/render/apply-script";
import { evaluate, Finding } from "../plan/evaluate";
import type { PlanRun, RecordedResource } from "../plan/run";
import type { PackConfig } from "../policies/pack-config";
import { DeployedHost, DeployedStep, unwrapSecrets, wantedContent } from "./deployment";
import type { ProbeResult } from "./probe";

/** The stack's state as a recorded run: what the pack judges, as the offline plan gives it (secrets unwrapped). */
export function deployedRun(deployment: { resources?: Record<string, unknown>[] }, o: { project: string; stack: string }): PlanRun {
    const resources: RecordedResource[] = (deployment.resources ?? [])
        .filter((r) => r.delete !== true && !String(r.type).startsWith("pulumi:providers:"))
        .map((r) => ({
            urn: String(r.urn),
            id: String(r.id ?? ""),
            type: String(r.type),
            name: String(r.urn).split("::").pop()!,
            parent: r.parent ? String(r.parent) : undefined,
            custom: r.custom === true,
            inputs: unwrapSecrets(r.inputs ?? {}) as Record<string, unknown>,
            outputs: unwrapSecrets(r.outputs ?? {}) as Record<string, unknown>,
            protect: r.protect === true,
            ignoreChanges: [],
            dependencies: (r.dependencies as string[] | undefined) ?? [],
            propertyDependencies: (r.propertyDependencies as Record<string, string[]> | undefined) ?? {},
            additionalSecretOutputs: (r.additionalSecretOutputs as string[] | undefined) ?? [],
            provider: r.provider ? String(r.provider) : undefined,
            deleteBeforeReplace: false,
            retainOnDelete: r.retainOnDelete === true,
        }));
    return { project: o.project, stack: o.stack, config: {}, resources, invokes: [], outputs: {}, firstDeploy: false, exampleValues: [] };
}

/**
 * A file as the host has it, in the intent's terms: when it is what the step installs, the intent itself (its
 * placeholders); otherwise the host's content with the step's values put back as the placeholders the intent has
 * for them (longest first), so that no secret reaches the pack and a placeholder is judged as before.
 */
export function asPlaceholders(step: DeployedStep, file: ManagedFile, live: string): string {
    if (live === wantedContent(step, file)) return file.content;
    let out = live;
    const used = placeholders(file.content);
    for (const p of [...used].sort((a, b) => (step.values[b.name] ?? "").length - (step.values[a.name] ?? "").length)) {
        const value = step.values[p.name];
        if (value) out = out.split(value).join(`@@${p.kind}:${p.name}@@`);
    }
    return out;
}

/**
 * The files nginx loaded, from `nginx -T`: `# configuration file PATH:` before each, an empty line after each.
 * Undefined when nginx did not print its configuration (it does not start, or its configuration is invalid).
 */
export function nginxDump(text: string): ManagedFile[] | undefined {
    const parts = text.split(/^# configuration file (\/[^\n]+):\n/m);
    if (parts.length < 3) return undefined;
    const files: ManagedFile[] = [];
    for (let i = 1; i < parts.length; i += 2) files.push({ path: parts[i], content: parts[i + 1].replace(/\n$/, "") });
    return files;
}

export type ProbedHost = { host: DeployedHost; probe: ProbeResult };

/** The name of the stand-in step that carries a host's nginx files no step manages. */
const unmanagedName = (nginxStep: DeployedStep) => `${nginxStep.name}-unmanaged`;

/**
 * The run with the probed hosts as they are: each of their steps writes what the host has (a file the host lacks
 * is dropped), and a host's nginx files that no step writes come as one more step beside its nginx step.
 */
export function asTheHostsAre(run: PlanRun, probed: readonly ProbedHost[]): PlanRun {
    const stepOf = new Map(probed.flatMap(({ host, probe }) => host.steps.map((s) => [s.urn, { step: s, host, probe }] as const)));
    const resources = run.resources.flatMap((r): RecordedResource[] => {
        const at = stepOf.get(r.urn);
        if (!at) return [r];
        const script = scriptOfCommand(String(r.inputs.create ?? ""));
        if (script === undefined) return [r];
        const live = replaceApplyScriptFiles(script, (f) => {
            const l = at.probe.files.get(f.path);
            return l && l.exists ? { path: f.path, mode: l.mode.padStart(4, "0"), owner: l.owner, content: asPlaceholders(at.step, f, l.content) } : undefined;
        });
        const out = [{ ...r, inputs: { ...r.inputs, create: stepCommand(live) }, outputs: { ...r.outputs, create: stepCommand(live) } }];
        const dump = r.name.endsWith("-nginx") ? nginxDump(at.probe.sections.get("nginx") ?? "") : undefined;
        if (dump) {
            const managed = new Set(at.host.steps.flatMap((s) => s.files.map((f) => f.path)));
            // A path an apply script cannot name (a space in it) is judged under one with those characters as `_`.
            const files = dump.filter((f) => !managed.has(f.path)).map((f) => ({ ...f, path: safeFilePath(f.path) }));
            if (files.length) {
                const name = unmanagedName(at.step);
                const create = stepCommand(renderApplyScript({ name, files }));
                out.push({ ...r, urn: r.urn.replace(/::[^:]+$/, `::${name}`), name, id: "", inputs: { create }, outputs: { create }, dependencies: [], propertyDependencies: {} });
            }
        }
        return out;
    });
    return { ...run, resources };
}

const key = (f: Finding) => `${f.policy}\n${f.urn ?? ""}\n${f.message}`;

/**
 * The pack's findings on the hosts as they are that it does not make on the intent: what the hosts changed.
 * Each carries the URN of the step whose file it judges (or the stand-in step of a host's unmanaged nginx files).
 */
export function packOnHosts(run: PlanRun, probed: readonly ProbedHost[], policies: readonly Policy[], config: PackConfig): Finding[] {
    const intent = new Set(evaluate(run, policies, config).findings.map(key));
    return evaluate(asTheHostsAre(run, probed), policies, config).findings.filter((f) => !intent.has(key(f)));
}

/** Whether a finding's URN is a host's stand-in step for the nginx files no step manages. */
export const onUnmanagedFiles = (urn: string | undefined, host: DeployedHost) => !!urn && host.steps.some((s) => s.name.endsWith("-nginx") && urn.endsWith(`::${unmanagedName(s)}`));
