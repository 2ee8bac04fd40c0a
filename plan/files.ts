/**
 * What each host gets, as files a reviewer can read: every file the remote steps install, per server, with its
 * mode, owner and step, read from the steps' scripts (the same source the policies judge). Secrets are never in
 * them: values that exist only during the update are placeholders (`@@secret:db-password@@`), and a generated
 * secret that a careless change put into a script anyway is replaced by `[secret:<name>]`.
 */
import * as fs from "fs";
import * as path from "path";
import { parseApplyScript, scriptOfCommand } from "../lib/render/apply-script";
import { generatedSecrets } from "../policies/parse";
import type { PlanRun } from "./run";
import { unwrapSecrets } from "./secrets";

export type HostFileEntry = { server: string; path: string; mode: string; owner: string; step: string; content: string };

/** The generated secrets of a run whose values are known, as the policies find them (SEC-5, SVC-4). */
const generated = (run: PlanRun) => generatedSecrets(run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: unwrapSecrets({ ...r.outputs, ...r.inputs }) })));

/** Every file the steps install, by server: the server's name where the plan knows its address, else the address. */
export function hostFileEntries(run: PlanRun): HostFileEntry[] {
    // Unknown before a first deploy: then hosts are named by their address (or stay unknown).
    const listed = unwrapSecrets(run.outputs.servers);
    const servers = (Array.isArray(listed) ? listed : []) as { name: string; ipv4: string }[];
    const secrets = generated(run);
    const out: HostFileEntry[] = [];
    for (const r of run.resources.filter((x) => x.type === "command:remote:Command")) {
        const script = scriptOfCommand(String(unwrapSecrets(r.inputs.create) ?? ""));
        if (!script) continue;
        const host = String((unwrapSecrets(r.inputs.connection) as { host?: unknown } | undefined)?.host ?? "unknown");
        const server = servers.find((s) => s.ipv4 === host)?.name ?? host;
        for (const f of parseApplyScript(script)) {
            let content = f.content;
            for (const s of secrets) content = content.split(s.value).join(`[secret:${s.name}]`);
            out.push({ server, path: f.path, mode: f.mode ?? "0644", owner: f.owner ?? "root:root", step: r.name, content });
        }
    }
    return out.sort((a, b) => (a.server + a.path < b.server + b.path ? -1 : 1));
}

/**
 * Writes the files under `dir/<server>/<path on the host>`, and `dir/<server>/MANIFEST` with each file's mode,
 * owner and step (so a diff of two plans shows a mode or owner change, and files added or removed). The directory
 * is emptied first, so it holds exactly this plan.
 */
export function writeHostFiles(run: PlanRun, dir: string): HostFileEntry[] {
    const entries = hostFileEntries(run);
    fs.rmSync(dir, { recursive: true, force: true });
    const manifests = new Map<string, string[]>();
    for (const e of entries) {
        const target = path.join(dir, e.server, e.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, e.content);
        manifests.set(e.server, [...(manifests.get(e.server) ?? []), `${e.path} ${e.mode} ${e.owner} ${e.step}`]);
    }
    for (const [server, lines] of manifests) fs.writeFileSync(path.join(dir, server, "MANIFEST"), lines.join("\n") + "\n");
    return entries;
}
