/**
 * nginx as it runs behind the fleet's load balancer (lib/render/nginx.ts with `loadBalancer`), proven by the real
 * nginx inside Debian's nginx.conf, with HAProxy on loopback standing in for Hetzner's load balancer: TCP
 * passthrough with the PROXY protocol, from an address of its own, health-checking nginx's health listener.
 * Clients connect from different loopback addresses, so "which client" is visible to nginx.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { drainFile, ensureListeners, nginxListeners, ReverseProxyOptions } from "../lib/render/nginx";
import { RunningHaproxy, startHaproxy } from "./support/haproxy";
import { debianNginxConf, freePort, instanceBanList, RunningNginx, selfSignedCert, startNginx, waitFor, writeProxyInstance } from "./support/nginx";

const DOMAIN = "fleet.app.example.com";
/** The load balancer's own address: HAProxy connects from it, nginx believes PROXY headers from it alone. */
const LB = "127.0.0.9";
const NAME = `fleet${process.pid}`;
let dir: string;
let upstream: http.Server;
let seen: { url: string; realIp?: string; forwardedFor?: string }[] = [];
let leader: RunningNginx;
let follower: RunningNginx;
let haproxy: RunningHaproxy;
let ports: { http: number; https: number; health: number; lbHttp: number; lbHttps: number };

function request(o: { port: number; from: string; path: string; method?: string; tls?: boolean }): Promise<number> {
    return new Promise((resolve, reject) => {
        const lib = o.tls === false ? http : https;
        const req = lib.request(
            { host: "127.0.0.1", port: o.port, path: o.path, method: o.method ?? "GET", localAddress: o.from, headers: { host: DOMAIN }, servername: DOMAIN, rejectUnauthorized: false, agent: false },
            (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            },
        );
        req.on("error", reject);
        req.end();
    });
}

/** A raw exchange with nginx, bypassing the load balancer: `lines` are sent as they are (a PROXY header, or none). */
function raw(o: { host: string; port: number; from: string; lines: string[] }): Promise<string> {
    return new Promise((resolve) => {
        const s = net.connect({ host: o.host, port: o.port, localAddress: o.from });
        let data = "";
        s.on("connect", () => s.write(o.lines.join("\r\n") + "\r\n\r\n"));
        s.on("data", (d) => (data += d));
        s.on("close", () => resolve(data));
        s.on("error", () => resolve(data));
        s.setTimeout(5000, () => s.destroy());
    });
}

const accessLog = () => fs.readFileSync(path.join(dir, "leader", "logs", "access.log"), "utf8").trim().split("\n");
const lastClient = () => accessLog().slice(-1)[0].split(" ")[0];

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-proxy-"));
    fs.chmodSync(dir, 0o755);
    const upstreamPort = await freePort();
    upstream = http.createServer((req, res) => {
        // The load balancer's health checks (every 300 ms, through each nginx's health listener) arrive at any time;
        // the tests' own requests never ask for the health path.
        if (req.url !== "/health") seen.push({ url: req.url ?? "", realIp: req.headers["x-real-ip"] as string, forwardedFor: req.headers["x-forwarded-for"] as string });
        req.resume();
        res.end("ok\n");
    });
    await new Promise<void>((r) => upstream.listen(upstreamPort, "127.0.0.1", r));
    ports = { http: await freePort(), https: await freePort(), health: await freePort(), lbHttp: await freePort(), lbHttps: await freePort() };
    const webroot = path.join(dir, "acme");
    fs.mkdirSync(path.join(webroot, ".well-known", "acme-challenge"), { recursive: true });
    fs.writeFileSync(path.join(webroot, ".well-known", "acme-challenge", "token-1"), "token-1.key-authorization");
    const base = (listenAddress: string): ReverseProxyOptions => ({
        name: NAME,
        domains: [DOMAIN],
        upstreamPort,
        certificate: selfSignedCert(dir, [DOMAIN]),
        acmeWebroot: webroot,
        ports: { http: ports.http, https: ports.https },
        loadBalancer: { address: LB, listenAddress, healthPath: "/health", healthPort: ports.health, acmeServer: "127.0.0.1" },
    });
    // The first app server (ACME answered on its health listener) and another that passes challenges on to it.
    leader = await startNginx(writeProxyInstance(path.join(dir, "leader"), base("127.0.0.1")), ports.health);
    // startNginx waits on 127.0.0.1, which the leader answers; the follower's own address is waited for below.
    follower = await startNginx(writeProxyInstance(path.join(dir, "follower"), base("127.0.0.10")), ports.health);
    await waitFor("the follower's health listener", () => new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.10", port: ports.health }, () => (s.end(), resolve(true)));
        s.on("error", () => resolve(false));
    }));
    const server = (port: number) => `    server app 127.0.0.1:${port} send-proxy source ${LB} check port ${ports.health} inter 300 fall 2 rise 1`;
    haproxy = await startHaproxy(
        dir,
        [
            "frontend https_in",
            `    bind 127.0.0.1:${ports.lbHttps}`,
            "    default_backend https_out",
            "frontend http_in",
            `    bind 127.0.0.1:${ports.lbHttp}`,
            "    default_backend http_out",
            "backend https_out",
            "    option httpchk GET /health",
            "    http-check expect status 200",
            server(ports.https),
            "backend http_out",
            "    option httpchk GET /health",
            "    http-check expect status 200",
            server(ports.http),
        ],
        ports.lbHttps,
    );
    await waitFor("the load balancer to see the server healthy", async () => (await request({ port: ports.lbHttps, from: "127.0.0.2", path: "/" }).catch(() => 0)) === 200);
});

afterAll(async () => {
    await haproxy?.stop();
    await leader?.stop();
    await follower?.stop();
    await new Promise((r) => upstream?.close(r));
    fs.rmSync(drainFile(NAME), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
    seen = [];
});

describe("the client's address behind the load balancer (PX-4)", () => {
    test("the app, the access log and the proxy headers see the client, not the load balancer", async () => {
        expect(await request({ port: ports.lbHttps, from: "127.0.0.2", path: "/page" })).toBe(200);
        expect(seen).toEqual([{ url: "/page", realIp: "127.0.0.2", forwardedFor: "127.0.0.2" }]);
        expect(lastClient()).toBe("127.0.0.2");
        expect(await request({ port: ports.lbHttp, from: "127.0.0.3", path: "/x", tls: false })).toBe(301);
        expect(lastClient()).toBe("127.0.0.3");
    });

    test("RL-1: the login limit counts each client: the 6th request of one is refused, another client still gets in", async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push(await request({ port: ports.lbHttps, from: "127.0.0.4", path: "/login", method: "POST" }));
        expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
        expect(await request({ port: ports.lbHttps, from: "127.0.0.5", path: "/login", method: "POST" })).toBe(200);
    });

    test("a PROXY header from anyone but the load balancer is not believed", async () => {
        const answer = await raw({ host: "127.0.0.1", port: ports.http, from: "127.0.0.6", lines: ["PROXY TCP4 203.0.113.7 127.0.0.1 40000 80", "GET /forged HTTP/1.1", `Host: ${DOMAIN}`, "Connection: close"] });
        expect(answer).toMatch(/^HTTP\/1\.1 301/);
        expect(lastClient()).toBe("127.0.0.6");
        expect(accessLog().join("\n")).not.toContain("203.0.113.7");
    });

    test("a connection without the PROXY header gets no answer", async () => {
        expect(await raw({ host: "127.0.0.1", port: ports.http, from: "127.0.0.2", lines: ["GET / HTTP/1.1", `Host: ${DOMAIN}`, "Connection: close"] })).toBe("");
    });
});

describe("LOG-2 behind the load balancer: the app jail's ban is nginx's", () => {
    test("an address in the ban list gets 403 through the load balancer, on both ports, while another client still gets in", async () => {
        const list = instanceBanList(path.join(dir, "leader"));
        // The line fail2ban's nginx-block-map action appends on a ban: a backslash (the map's escape), the address, " 1;".
        fs.writeFileSync(list, "\\127.0.0.4 1;\n");
        try {
            leader.process.kill("SIGHUP");
            await waitFor("nginx to read the ban list", async () => (await request({ port: ports.lbHttps, from: "127.0.0.4", path: "/" })) === 403);
            expect(await request({ port: ports.lbHttp, from: "127.0.0.4", path: "/", tls: false })).toBe(403);
            expect(await request({ port: ports.lbHttps, from: "127.0.0.5", path: "/" })).toBe(200);
            // The load balancer's own address is never what nginx judges: its health checks still pass.
            expect(await request({ port: ports.health, from: LB, path: "/health", tls: false })).toBe(200);
        } finally {
            fs.writeFileSync(list, "");
            leader.process.kill("SIGHUP");
            await waitFor("nginx to read the emptied ban list", async () => (await request({ port: ports.lbHttps, from: "127.0.0.4", path: "/" })) === 200);
        }
    });
});

describe("the health listener (NET-7) and draining", () => {
    test("answers the app's health, and 503 while the drain file exists, which takes the server out of the load balancer", async () => {
        expect(await request({ port: ports.health, from: LB, path: "/health", tls: false })).toBe(200);
        fs.writeFileSync(drainFile(NAME), "");
        try {
            expect(await request({ port: ports.health, from: LB, path: "/health", tls: false })).toBe(503);
            // HAProxy marks the only server down; new connections find no server.
            await waitFor("the load balancer to drain the server", async () => (await request({ port: ports.lbHttps, from: "127.0.0.2", path: "/" }).catch(() => 0)) !== 200);
        } finally {
            fs.rmSync(drainFile(NAME), { force: true });
        }
        await waitFor("the load balancer to take the server back", async () => (await request({ port: ports.lbHttps, from: "127.0.0.2", path: "/" }).catch(() => 0)) === 200);
        expect(await request({ port: ports.health, from: LB, path: "/other", tls: false })).toBe(404);
    });
});

describe("ACME challenges in the fleet (TLS-5)", () => {
    test("another server passes the challenge on to the first one's health listener, which answers it from its webroot", async () => {
        const answer = await raw({
            host: "127.0.0.10",
            port: ports.http,
            from: LB,
            lines: ["PROXY TCP4 198.51.100.20 127.0.0.10 40000 80", "GET /.well-known/acme-challenge/token-1 HTTP/1.1", `Host: ${DOMAIN}`, "Connection: close"],
        });
        expect(answer).toMatch(/^HTTP\/1\.1 200/);
        expect(answer).toContain("token-1.key-authorization");
    });
});

describe("a fleet server's first converge: nginx moves from every address to the private one", () => {
    test("nginxListeners names the private address's ports behind the load balancer, every address otherwise", () => {
        const base: ReverseProxyOptions = { name: "webapp", domains: [DOMAIN], upstreamPort: 8000, certificate: { fullchain: "/f", privkey: "/k" } };
        expect(nginxListeners({ ...base, loadBalancer: { address: "10.0.0.2", listenAddress: "10.0.0.10", healthPath: "/health" } })).toEqual(["10.0.0.10:80", "10.0.0.10:443", "10.0.0.10:8404"]);
        expect(nginxListeners(base)).toEqual(["0.0.0.0:80", "[::]:80", "0.0.0.0:443", "[::]:443"]);
    });

    test("a reload keeps Debian's wildcard socket and logs the failed bind; the step's check restarts nginx onto the address", async () => {
        const d = path.join(dir, "move");
        const port = await freePort();
        const conf = debianNginxConf(d);
        // Debian's default site, as apt leaves nginx running, then the fleet's site in its place.
        fs.writeFileSync(path.join(d, "sites-enabled", "default"), `server {\n    listen ${port} default_server;\n    return 200 "stock\\n";\n}\n`);
        const stock = await startNginx(conf, port);
        let restarted = false;
        try {
            fs.rmSync(path.join(d, "sites-enabled", "default"));
            fs.writeFileSync(path.join(d, "sites-enabled", "fleet"), `server {\n    listen 127.0.0.10:${port};\n    return 200 "fleet\\n";\n}\n`);
            stock.process.kill("SIGHUP");
            await new Promise((r) => setTimeout(r, 1000));
            const errors = () => fs.readFileSync(path.join(d, "logs", "error.log"), "utf8");
            expect(errors()).toMatch(new RegExp(`bind\\(\\) to 127\\.0\\.0\\.10:${port} failed \\(98: Address already in use\\)`));
            // systemctl stands in for the host's: a restart stops this nginx and starts it again from its config.
            const systemctl = `systemctl() { [ "$1 $2" = "restart nginx" ] || return 1; kill -QUIT "$(cat ${d}/nginx.pid)"; while [ -e ${d}/nginx.pid ]; do sleep 0.1; done; /usr/sbin/nginx -c ${conf} -e ${d}/logs/startup.log; }`;
            const res = spawnSync("bash", ["-euo", "pipefail", "-c", ["log() { echo \"[nginx] $*\"; }", systemctl, ...ensureListeners([`127.0.0.10:${port}`])].join("\n")], { encoding: "utf8", timeout: 30_000 });
            restarted = true;
            expect(res.stderr).toBe("");
            expect(res.status).toBe(0);
            expect(res.stdout).toBe(`[nginx] nginx does not listen on all of 127.0.0.10:${port} after a reload; restarting it\n`);
            const body = await new Promise<string>((resolve, reject) => http.get({ host: "127.0.0.10", port, path: "/" }, (r) => { let b = ""; r.on("data", (c) => (b += c)); r.on("end", () => resolve(b)); }).on("error", reject));
            expect(body).toBe("fleet\n");
            // Now in place: a second run finds every listener and restarts nothing.
            const again = spawnSync("bash", ["-euo", "pipefail", "-c", ["log() { echo \"[nginx] $*\"; }", "systemctl() { echo unexpected; return 1; }", ...ensureListeners([`127.0.0.10:${port}`])].join("\n")], { encoding: "utf8" });
            expect([again.status, again.stdout]).toEqual([0, ""]);
            // A listener nothing can provide fails the step, with what nginx does listen on.
            const missing = spawnSync("bash", ["-euo", "pipefail", "-c", ["log() { :; }", "systemctl() { :; }", ...ensureListeners(["127.0.0.10:1"])].join("\n")], { encoding: "utf8" });
            expect(missing.status).toBe(1);
            expect(missing.stderr).toContain("nginx does not listen on 127.0.0.10:1");
        } finally {
            if (restarted && fs.existsSync(path.join(d, "nginx.pid"))) process.kill(Number(fs.readFileSync(path.join(d, "nginx.pid"), "utf8")), "SIGQUIT");
            await stock.stop();
        }
    });
});
