/**
 * The fleet's rolling restart (lib/fleet.ts `rollingRestart`) under a steady stream of requests, with the real
 * nginx (the fleet's site on two loopback addresses, one per app server), HAProxy standing in for the load balancer
 * (PROXY protocol, health checks on nginx's health listener) and bash running the rendered lines. The app is a
 * small HTTP server; `systemctl` is a stand-in on PATH that stops it, waits a second and starts it again, as a real
 * restart takes the app away for a moment. Without draining the same restart fails requests: the test can fail.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { rollingRestart } from "../lib/fleet";
import { drainFile } from "../lib/render/nginx";
import { RunningHaproxy, startHaproxy } from "./support/haproxy";
import { freePort, RunningNginx, selfSignedCert, startNginx, waitForPort, writeProxyInstance } from "./support/nginx";

jest.setTimeout(120_000);

const DOMAIN = "rolling.app.example.com";
const LB = "127.0.0.9";
/** HAProxy checks every 300 ms and takes a server out after 2 failures: 2 s covers it and the requests in flight. */
const ROLLING = { drainSeconds: 2, settleSeconds: 1 };
type Server = { name: string; address: string; appPort: number; dir: string; nginx?: RunningNginx };
let dir: string;
let servers: Server[];
let ports: { http: number; https: number; health: number; lb: number };
let haproxy: RunningHaproxy;

const APP = `
const http = require("http");
http.createServer((req, res) => res.end("ok " + process.pid + "\\n")).listen(Number(process.argv[2]), "127.0.0.1");
`;

/** systemctl as the rolling restart calls it: is-active and restart of the app, which it runs from a pid file. */
const systemctl = (server: Server) => `#!/bin/bash
pidfile=${server.dir}/app.pid
start() { nohup ${process.execPath} ${dir}/app.js ${server.appPort} >/dev/null 2>&1 & echo $! > "$pidfile"; }
case "$1" in
  is-active) kill -0 "$(cat "$pidfile")" 2>/dev/null ;;
  restart) kill "$(cat "$pidfile")"; sleep 1; start ;;
  start) start ;;
  *) exit 2 ;;
esac
`;

/** Runs lines as a step runs them, without blocking the event loop (the request stream keeps going). */
function sh(server: Server, lines: string[]): Promise<{ status: number | null; output: string }> {
    const script = ["set -euo pipefail", 'log() { echo "[app] $*"; }', ...lines].join("\n");
    return new Promise((resolve) => {
        const proc = spawn("bash", ["-c", script], { env: { ...process.env, PATH: `${server.dir}/bin:${process.env.PATH}` } });
        let output = "";
        proc.stdout.on("data", (d) => (output += d));
        proc.stderr.on("data", (d) => (output += d));
        proc.on("close", (status) => resolve({ status, output }));
    });
}

const appPid = (s: Server) => fs.readFileSync(path.join(s.dir, "app.pid"), "utf8").trim();

/** Requests through the load balancer, one new connection every 20 ms, until stopped; counts what failed. */
function stream(): { stop: () => Promise<{ ok: number; failed: string[]; pids: Set<string> }> } {
    let running = true;
    const result = { ok: 0, failed: [] as string[], pids: new Set<string>() };
    const one = () =>
        new Promise<void>((resolve) => {
            const req = https.request({ host: "127.0.0.1", port: ports.lb, path: "/", headers: { host: DOMAIN }, servername: DOMAIN, rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    if (res.statusCode === 200) {
                        result.ok++;
                        result.pids.add(body.split(" ")[1]?.trim());
                    } else result.failed.push(String(res.statusCode));
                    resolve();
                });
            });
            req.on("error", (e) => (result.failed.push(e.message), resolve()));
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.end();
        });
    const loop = (async () => {
        while (running) {
            void one();
            await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 500));
    })();
    return { stop: async () => ((running = false), await loop, result) };
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rolling-"));
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, "app.js"), APP);
    ports = { http: await freePort(), https: await freePort(), health: await freePort(), lb: await freePort() };
    const cert = selfSignedCert(dir, [DOMAIN]);
    servers = [];
    for (const [i, address] of ["127.0.0.1", "127.0.0.10"].entries()) {
        const s: Server = { name: `roll${i}p${process.pid}`, address, appPort: await freePort(), dir: path.join(dir, `server${i}`) };
        fs.mkdirSync(path.join(s.dir, "bin"), { recursive: true });
        fs.writeFileSync(path.join(s.dir, "bin", "systemctl"), systemctl(s), { mode: 0o755 });
        expect((await sh(s, ["systemctl start"])).status).toBe(0);
        await waitForPort(s.appPort);
        const conf = writeProxyInstance(s.dir, {
            name: s.name,
            domains: [DOMAIN],
            upstreamPort: s.appPort,
            certificate: cert,
            ports: { http: ports.http, https: ports.https },
            loadBalancer: { address: LB, listenAddress: address, healthPath: "/health", healthPort: ports.health },
        });
        s.nginx = await startNginx(conf, ports.health);
        servers.push(s);
    }
    haproxy = await startHaproxy(
        dir,
        [
            "frontend in",
            `    bind 127.0.0.1:${ports.lb}`,
            "    default_backend fleet",
            "backend fleet",
            "    balance roundrobin",
            "    option httpchk GET /health",
            "    http-check expect status 200",
            ...servers.map((s, i) => `    server app${i} ${s.address}:${ports.https} send-proxy source ${LB} check port ${ports.health} inter 300 fall 2 rise 1`),
        ],
        ports.lb,
    );
    // Both servers in rotation before anything is measured.
    const warm = stream();
    await new Promise((r) => setTimeout(r, 1500));
    expect((await warm.stop()).pids.size).toBe(2);
});

afterAll(async () => {
    await haproxy?.stop();
    for (const s of servers ?? []) {
        await s.nginx?.stop();
        spawnSync("bash", ["-c", `kill "$(cat ${s.dir}/app.pid)" 2>/dev/null || true`]);
        fs.rmSync(drainFile(s.name), { force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("a rolling restart of the app behind the load balancer", () => {
    test("restarting every server in turn, drained, under a steady stream of requests fails none", async () => {
        const before = servers.map(appPid);
        const load = stream();
        for (const s of servers) {
            const res = await sh(s, rollingRestart({ unit: "webapp.service", port: s.appPort, healthPath: "/health", rolling: { drainFile: drainFile(s.name), ...ROLLING } }));
            expect({ server: s.name, status: res.status, output: res.output }).toMatchObject({ status: 0 });
            expect(res.output).toContain("restarted webapp.service behind the load balancer");
            expect(fs.existsSync(drainFile(s.name))).toBe(false);
        }
        const result = await load.stop();
        expect(servers.map(appPid).filter((pid, i) => pid === before[i])).toEqual([]);
        expect(result.failed).toEqual([]);
        expect(result.ok).toBeGreaterThan(200);
        // Both app servers answered, before and after their restarts.
        expect(result.pids.size).toBeGreaterThanOrEqual(3);
    });

    test("the same restart without draining fails requests (what the drain prevents)", async () => {
        const load = stream();
        await new Promise((r) => setTimeout(r, 300));
        for (const s of servers) expect((await sh(s, ["systemctl restart"])).status).toBe(0);
        await new Promise((r) => setTimeout(r, 1500));
        const result = await load.stop();
        expect(result.failed.length).toBeGreaterThan(0);
    });

    test("an app that does not come back fails the step and leaves no drain behind", async () => {
        const s = servers[0];
        // This restart stops the app and never starts it again.
        const broken = { ...s, dir: path.join(dir, "broken") };
        fs.mkdirSync(path.join(broken.dir, "bin"), { recursive: true });
        fs.copyFileSync(path.join(s.dir, "app.pid"), path.join(broken.dir, "app.pid"));
        fs.writeFileSync(path.join(broken.dir, "bin", "systemctl"), systemctl(broken).replace('restart) kill "$(cat "$pidfile")"; sleep 1; start ;;', 'restart) kill "$(cat "$pidfile")" ;;'), { mode: 0o755 });
        const res = await sh(broken, rollingRestart({ unit: "webapp.service", port: s.appPort, healthPath: "/health", rolling: { drainFile: drainFile(s.name), drainSeconds: 0, settleSeconds: 0, healthTimeoutSeconds: 3 } }));
        expect(res.status).toBe(1);
        expect(res.output).toContain("webapp.service is not healthy 3 s after its restart; the other servers keep serving");
        expect(fs.existsSync(drainFile(s.name))).toBe(false);
    });
});
