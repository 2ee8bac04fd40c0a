/**
 * HAProxy on loopback, the load balancer's stand-in in the fleet tests and the nginx bench: TCP mode, the
 * frontends and backends a caller gives, checked with `haproxy -c` and run in the foreground.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stopProcess, waitForPort } from "./nginx";

export type RunningHaproxy = { stop: () => Promise<void> };

/**
 * Writes `dir`/haproxy.cfg (global and TCP defaults, then `sections`), checks it, starts HAProxy and waits until
 * `port` answers. `timeoutSeconds` is the client and server timeout (default 10); `threads` HAProxy's (default its own).
 */
export async function startHaproxy(dir: string, sections: string[], port: number, o: { timeoutSeconds?: number; threads?: number } = {}): Promise<RunningHaproxy> {
    const cfg = path.join(dir, "haproxy.cfg");
    const timeout = o.timeoutSeconds ?? 10;
    fs.writeFileSync(
        cfg,
        [
            "global",
            `    pidfile ${dir}/haproxy.pid`,
            ...(o.threads ? [`    nbthread ${o.threads}`] : []),
            "defaults",
            "    mode tcp",
            "    timeout connect 2s",
            `    timeout client ${timeout}s`,
            `    timeout server ${timeout}s`,
            ...sections,
            "",
        ].join("\n"),
    );
    const check = spawnSync("haproxy", ["-c", "-f", cfg], { encoding: "utf8" });
    if (check.status !== 0) throw new Error(`haproxy -c: ${check.stdout}${check.stderr}`);
    const proc = spawn("haproxy", ["-db", "-f", cfg], { stdio: "ignore" });
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    await waitForPort(port);
    return { stop: () => stopProcess(proc, exited, "SIGTERM", 5000) };
}
