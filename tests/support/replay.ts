/**
 * Test code, never a product feature: runs the `command.remote.Command` resources of a recorded program run
 * against a host over SSH, in dependency order, with exactly their `create` command and stdin, as the command
 * provider would. It stands in for `pulumi up` until the real engine runs here.
 */
import { spawnSync } from "child_process";
import type { PlanRun, RecordedResource } from "../../plan/run";
import { unwrapSecrets } from "../../plan/secrets";

export type StepResult = { name: string; status: number | null; stdout: string; stderr: string; ms: number };

/** The command resources in an order that respects their dependencies (registration order breaks ties). */
export function stepsInOrder(run: PlanRun): RecordedResource[] {
    const steps = run.resources.filter((r) => r.type === "command:remote:Command");
    const byUrn = new Map(steps.map((s) => [s.urn, s]));
    const done = new Set<string>();
    const order: RecordedResource[] = [];
    const visit = (s: RecordedResource, path: string[]) => {
        if (done.has(s.urn)) return;
        if (path.includes(s.urn)) throw new Error(`dependency cycle through ${s.name}`);
        for (const d of s.dependencies) {
            const dep = byUrn.get(d);
            if (dep) visit(dep, [...path, s.urn]);
        }
        done.add(s.urn);
        order.push(s);
    };
    for (const s of steps) visit(s, []);
    return order;
}

/**
 * Runs each step; `port` maps the connection's port to the forwarded one. Stops at the first failure.
 */
export function replay(run: PlanRun, o: { key: string; port: (port: number) => number; host?: (host: string) => string }): StepResult[] {
    const results: StepResult[] = [];
    for (const step of stepsInOrder(run)) {
        const c = unwrapSecrets(step.inputs.connection) as { host: string; port: number; user: string; dialErrorLimit?: number };
        const started = Date.now();
        const attempt = () =>
            spawnSync(
                "ssh",
                ["-p", String(o.port(c.port)), "-i", o.key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                    "-o", "ConnectTimeout=15", `${c.user}@${o.host ? o.host(c.host) : c.host}`, String(unwrapSecrets(step.inputs.create))],
                { encoding: "utf8", input: String(unwrapSecrets(step.inputs.stdin) ?? ""), timeout: 15 * 60 * 1000, maxBuffer: 64 * 1024 * 1024 },
            );
        // Like the command provider, keep dialling while the connection itself fails (dialErrorLimit).
        let res = attempt();
        for (let dial = 1; dial < (c.dialErrorLimit ?? 10) && res.status === 255 && /kex_exchange_identification|Connection (reset|refused|closed)|timed out/.test(res.stderr); dial++) {
            spawnSync("sleep", ["2"]);
            res = attempt();
        }
        results.push({ name: step.name, status: res.status, stdout: res.stdout, stderr: res.stderr, ms: Date.now() - started });
        if (res.status !== 0) break;
    }
    return results;
}
