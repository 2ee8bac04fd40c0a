/**
 * The stack's component graph as a Mermaid diagram, drawn from a run: the components, the cloud resources each
 * owns, and the hosts the remote steps configure (one edge per component and host, labelled with its steps).
 * Nodes that carry a finding (the resource, or the component whose step it is) are marked with the control.
 * GitHub renders it in the PR comment; the README's diagrams come from the same function.
 */
import type { Finding } from "./evaluate";
import type { PlanRun, RecordedResource } from "./run";
import { unwrapSecrets } from "./secrets";

const STEP = "command:remote:Command";
const label = (s: string) => s.replace(/"/g, "'");
/** `hcloud:index/server:Server` -> `Server`, `webapp:proxy:ReverseProxy` -> `ReverseProxy`. */
const short = (type: string) => type.split(/[:/]/).pop() ?? type;

export function mermaid(run: PlanRun, findings: readonly Finding[] = []): string {
    // In URN order, with short node ids, so the same stack always draws the same text.
    const resources = [...run.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    const ids = new Map<string, string>();
    const id = (key: string) => ids.get(key) ?? (ids.set(key, `n${ids.size + 1}`), ids.get(key)!);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const component = (r: RecordedResource) => r.type.startsWith("webapp:");
    /** The component that owns a resource (itself, for a component). */
    const owner = (r: RecordedResource): RecordedResource | undefined => {
        for (let x: RecordedResource | undefined = r; x; x = x.parent ? byUrn.get(x.parent) : undefined) if (component(x)) return x;
        return undefined;
    };
    const marks = new Map<string, Set<string>>();
    for (const f of findings.filter((x) => !x.waiver && x.urn)) {
        const r = byUrn.get(f.urn!);
        if (!r) continue;
        const at = r.type === STEP ? owner(r) ?? r : r;
        marks.set(at.urn, new Set([...(marks.get(at.urn) ?? []), f.checklistId ?? f.policy]));
    }
    const node = (r: RecordedResource, text: string) => {
        const m = marks.get(r.urn);
        return `  ${id(r.urn)}["${label(text)}${m ? ` ⚠ ${[...m].join(", ")}` : ""}"]${m ? ":::finding" : ""}`;
    };
    const lines = ["graph TD"];
    if (stack) lines.push(`  ${id(stack.urn)}["${label(`${run.project}-${run.stack}`)}"]`);
    const components = resources.filter(component);
    for (const c of components) {
        lines.push(node(c, `${short(c.type)} ${c.name}`));
        const parent = c.parent && byUrn.get(c.parent);
        if (parent) lines.push(`  ${id(parent.urn)} --> ${id(c.urn)}`);
    }
    // The cloud resources each component owns (the steps are drawn as edges to their hosts).
    for (const r of resources.filter((x) => x.custom && x.type !== STEP && !x.type.startsWith("pulumi:"))) {
        const o = owner(r);
        lines.push(node(r, `${short(r.type)} ${r.name}`));
        if (o) lines.push(`  ${id(o.urn)} --> ${id(r.urn)}`);
    }
    // Hosts, by the address the steps connect to (named after the server where the plan knows it).
    // Unknown before a first deploy: then hosts are named by their address (or stay unknown).
    const listed = unwrapSecrets(run.outputs.servers);
    const servers = (Array.isArray(listed) ? listed : []) as { name: string; ipv4: string }[];
    const edges = new Map<string, { from: RecordedResource; host: string; steps: string[] }>();
    for (const s of resources.filter((x) => x.type === STEP)) {
        const address = String((unwrapSecrets(s.inputs.connection) as { host?: unknown } | undefined)?.host ?? "host");
        const host = servers.find((x) => x.ipv4 === address)?.name ?? address;
        const from = owner(s) ?? s;
        const key = `${from.urn}|${host}`;
        const e = edges.get(key) ?? { from, host, steps: [] };
        e.steps.push(s.name.slice(from.name.length + 1) || s.name);
        edges.set(key, e);
    }
    for (const host of new Set([...edges.values()].map((e) => e.host))) lines.push(`  ${id(`host-${host}`)}(("${label(`host ${host}`)}"))`);
    for (const e of edges.values()) lines.push(`  ${id(e.from.urn)} -- "${label(e.steps.join(", "))}" --> ${id(`host-${e.host}`)}`);
    lines.push("  classDef finding fill:#fdd,stroke:#c00,stroke-width:2px");
    return ["```mermaid", ...lines, "```", ""].join("\n");
}
