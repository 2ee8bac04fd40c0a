/**
 * Policy test helpers: copies of a recorded run to break one thing in, and edits of the files inside the remote
 * steps' scripts.
 */
import type { PlanRun, RecordedResource } from "../../plan/run";
import { evaluate, Finding } from "../../plan/evaluate";
import { ALL_POLICIES } from "../../policies/catalog";
import { packConfig } from "../../policies/pack-config";
import type { Waiver } from "../../policies/support";
import type { HostFile } from "../../policies/parse";
import { isSecret } from "../../plan/secrets";
import { scriptOfCommand, stepCommand } from "../../lib/render/apply-script";
import { runStack } from "../helpers";

export const clone = (run: PlanRun): PlanRun => structuredClone(run);

/** The prod stack as a fleet: three app servers behind Hetzner's load balancer, PostgreSQL on its own server. */
export const FLEET_OVERRIDES = { "webapp:serverCount": "3", "webapp:databaseHost": "dedicated", "webapp:uploadsMode": "none" };
export const AWS_FLEET_OVERRIDES = { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "3", "webapp:uploadsMode": "none" };

/** The compliant plans the policy tests break one thing in: prod, staging, prod on AWS with RDS, and the fleets at Hetzner and AWS. */

export async function shippedRuns(): Promise<{ prod: PlanRun; staging: PlanRun; rds: PlanRun; fleet: PlanRun; awsFleet: PlanRun }> {
    return {
        prod: await runStack("prod"),
        staging: await runStack("staging"),
        rds: await runStack("prod", { "webapp:provider": "aws", "webapp:databaseEngine": "rds" }),
        fleet: await runStack("prod", FLEET_OVERRIDES),
        awsFleet: await runStack("prod", AWS_FLEET_OVERRIDES),
    };
}

/** Adds a resource the program does not make (another form of the same thing), as a child of the stack. */
export function addResource(run: PlanRun, type: string, name: string, inputs: Record<string, unknown>, propertyDependencies: Record<string, string[]> = {}): void {
    const stack = run.resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
    run.resources.push({
        urn: `${stack.urn.split("::").slice(0, 2).join("::")}::${type}::${name}`,
        id: `${name}-id`,
        type,
        name,
        parent: stack.urn,
        custom: true,
        inputs,
        outputs: { ...inputs },
        protect: false,
        ignoreChanges: [],
        dependencies: [...new Set(Object.values(propertyDependencies).flat())],
        propertyDependencies,
        additionalSecretOutputs: [],
        deleteBeforeReplace: false,
        retainOnDelete: false,
    });
}

export function res(run: PlanRun, name: string): RecordedResource {
    const found = run.resources.filter((r) => r.name === name);
    if (found.length !== 1) throw new Error(`expected one resource ${name}, found ${found.length}`);
    return found[0];
}

/** Reads or rewrites a string input that may be wrapped as a secret. */
function editInput(r: RecordedResource, key: string, edit: (v: string) => string): void {
    const v = r.inputs[key] as unknown;
    if (isSecret(v)) v.value = edit(String(v.value));
    else r.inputs[key] = edit(String(v));
}

/** Edits the script a step runs (inside its `create` command). */
export function editScript(run: PlanRun, step: string, edit: (script: string) => string): void {
    editInput(res(run, step), "create", (command) => {
        const script = scriptOfCommand(command);
        if (script === undefined) throw new Error(`${step}'s command is not a step command`);
        const out = edit(script);
        if (out === script) throw new Error(`the edit changed nothing in ${step}'s script`);
        return stepCommand(out);
    });
}

/** Edits one file a step writes (its content travels base64-encoded in the script). */
export function editFile(run: PlanRun, step: string, path: string, edit: (content: string) => string): void {
    editScript(run, step, (script) => {
        const start = script.indexOf(`install_file '${path}' `);
        if (start < 0) throw new Error(`${step} does not write ${path}`);
        const open = script.indexOf("<<'PULUMI_B64'\n", start) + "<<'PULUMI_B64'\n".length;
        const close = script.indexOf("\nPULUMI_B64", open);
        const content = Buffer.from(script.slice(open, close).replace(/\n/g, ""), "base64").toString("utf8");
        const edited = edit(content);
        if (edited === content) throw new Error(`the edit changed nothing in ${path}`);
        const encoded = (Buffer.from(edited, "utf8").toString("base64").match(/.{1,76}/g) ?? [""]).join("\n");
        return script.slice(0, open) + encoded + script.slice(close);
    });
}

/** Removes a file from the files a step writes. */
export function dropFile(run: PlanRun, step: string, path: string): void {
    editScript(run, step, (script) => script.replace(new RegExp(`install_file '${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}' [\\s\\S]*?\\nPULUMI_B64\\n`), ""));
}

/** Runs every policy over a run with the stack's pack config (environment from the stack, optional waivers). */
export function findings(run: PlanRun, waivers: Waiver[] = []): Finding[] {
    const config = packConfig(run.stack);
    for (const entry of Object.values(config)) if (typeof entry === "object") entry.waivers = waivers;
    return evaluate(run, ALL_POLICIES, config).findings;
}

/** Adds a file to the files a step writes, as the apply script ships one (root:root 0644 unless told). */
export function addFile(run: PlanRun, step: string, path: string, content: string, mode = "0644", owner = "root:root"): void {
    editScript(run, step, (script) => {
        const at = script.indexOf("install_file '");
        if (at < 0) throw new Error(`${step} writes no file`);
        const encoded = (Buffer.from(content, "utf8").toString("base64").match(/.{1,76}/g) ?? [""]).join("\n");
        return `${script.slice(0, at)}install_file '${path}' ${mode} ${owner} <<'PULUMI_B64'\n${encoded}\nPULUMI_B64\n${script.slice(at)}`;
    });
}

/** Host files as a remote step would ship them (root:root 0644), by path, for the readers in policies/parse.ts. */
export const hostFileFixtures = (files: Record<string, string>): HostFile[] =>
    Object.entries(files).map(([p, content]) => ({ path: p, content, mode: "0644", owner: "root:root", from: { type: "command:remote:Command", name: "test", urn: "urn:test", props: {} }, script: "" }) as unknown as HostFile);
