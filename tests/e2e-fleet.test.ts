/**
 * End to end, the fleet (issue 15): two app servers and a database server, three Debian 12 VMs (QEMU) on a
 * private network of their own (a multicast socket netdev on loopback, 10.0.0.0/24), converged by a real
 * `pulumi up` with the policy pack (provider existing, serverCount 2, databaseHost dedicated). HAProxy on the
 * runner stands in for the provider's load balancer: TCP passthrough with the PROXY protocol to each server's
 * private address, health-checking nginx's health listener. Every VM's user network puts the runner at
 * 10.0.1.2, so that is the load balancer's private address (and the admin network) the stack names.
 *
 * The app is a small stdlib Python server the app's own pipeline would deliver: it names the server and its
 * version, logs the seed's SECURITY[LOGIN_FAILED] line with the client address nginx passes, and queries
 * PostgreSQL over the private network with its credential.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { bannedMapFile } from "../lib/render/fail2ban";
import { renderUserData } from "../lib/render/cloud-init";
import { CACHE, Engine, EngineResult, policyEvents, steps } from "./engine/engine";
import { run } from "./helpers";
import { RunningHaproxy, startHaproxy } from "./support/haproxy";
import { freePort, waitFor } from "./support/nginx";
import { answers, bootVm, ensureImage, quietBackupTime, Vm } from "./support/vm";

jest.setTimeout(40 * 60 * 1000);

const ROOT = path.join(__dirname, "..");
const DOMAIN = "fleet.webapp.test";
const STACK = "staging";
/** The runner as every VM's user network shows it: the load balancer (HAProxy) and the admin network alike. */
const RUNNER = "10.0.1.2";
const APP = [
    { name: "webapp-fleet-0", loopback: "127.0.0.10", address: "10.0.0.10", mac: "52:54:00:0f:00:10" },
    { name: "webapp-fleet-1", loopback: "127.0.0.11", address: "10.0.0.11", mac: "52:54:00:0f:00:11" },
];
const DB = { name: "webapp-fleet-db", loopback: "127.0.0.3", address: "10.0.0.3", mac: "52:54:00:0f:00:03" };
const EXEC = (version: string) => `/usr/bin/python3 /opt/webapp/app.py ${version}`;

/** The app: GET / names the server and version, /db asks PostgreSQL whether its connection is encrypted, POST /login fails. */
const APP_PY = String.raw`import datetime, http.server, os, socket, subprocess, sys
VERSION = sys.argv[1]
HOST = socket.gethostname()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, "ok\n")
        if self.path == "/db":
            env = dict(os.environ, PGHOST=os.environ["DATABASE_HOST"], PGPORT=os.environ["DATABASE_PORT"], PGDATABASE=os.environ["DATABASE_NAME"], PGUSER=os.environ["DATABASE_USER"])
            with open(os.path.join(os.environ["CREDENTIALS_DIRECTORY"], "db-password")) as f:
                env["PGPASSWORD"] = f.read().strip()
            r = subprocess.run(["psql", "-X", "-At", "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"], env=env, capture_output=True, text=True, timeout=60)
            return self.reply(200 if r.returncode == 0 else 500, f"{HOST} ssl={r.stdout.strip()} {r.stderr.strip()}\n")
        self.reply(200, f"{HOST} {VERSION}\n")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/login":
            ip = self.headers.get("X-Real-IP", self.client_address[0])
            with open("/var/log/webapp/app.log", "a") as log:
                log.write(f"{datetime.datetime.now():%Y-%m-%d %H:%M:%S} SECURITY[LOGIN_FAILED]: user=alice ip={ip}\n")
            return self.reply(401, "wrong password\n")
        self.reply(404, "not found\n")

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`;

let dir: string;
let key: string;
let apps: Vm[];
let db: Vm;
let engine: Engine;
let first: EngineResult;
let haproxy: RunningHaproxy;
let sshPort: number;
let lb: { https: number; http: number; direct: number[] };

function overrides(publicKey: string): Record<string, string> {
    return {
        "webapp:provider": "existing",
        "webapp:serverCount": "2",
        "webapp:databaseHost": "dedicated",
        "webapp:uploadsMode": "none",
        "webapp:existingHosts": JSON.stringify(APP.map((a) => a.loopback)),
        "webapp:existingPrivateAddresses": JSON.stringify(APP.map((a) => a.address)),
        "webapp:existingDatabaseHost": DB.loopback,
        "webapp:existingDatabasePrivateAddress": DB.address,
        "webapp:existingLoadBalancerAddress": RUNNER,
        "webapp:privateNetworkCidr": "10.0.0.0/16",
        "webapp:sshPort": String(sshPort),
        "webapp:adminCidrs": JSON.stringify([`${RUNNER}/32`]),
        "webapp:adminSshPublicKeys": JSON.stringify([publicKey]),
        "webapp:domain": DOMAIN,
        "webapp:acmeEmail": "ops@webapp.test",
        "webapp:tlsMode": "self-signed",
        "webapp:appExecStart": EXEC("v1"),
        "webapp:backupTime": quietBackupTime(),
    };
}

const must = (vm: Vm, command: string) => {
    const res = vm.ssh(command);
    if (res.status !== 0) throw new Error(`${command} failed (${res.status}): ${res.stderr}${res.stdout}`);
    return res.stdout.trim();
};

type Reply = { status: number; body: string };
function request(o: { port: number; from: string; path?: string; method?: string; tls?: boolean; agent?: http.Agent; timeoutMs?: number }): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const lib = o.tls === false ? http : https;
        const req = lib.request(
            {
                host: "127.0.0.1",
                port: o.port,
                path: o.path ?? "/",
                method: o.method ?? "GET",
                localAddress: o.agent ? undefined : o.from,
                headers: { host: DOMAIN },
                servername: DOMAIN,
                rejectUnauthorized: false,
                agent: o.agent ?? false,
                timeout: o.timeoutMs ?? 30_000,
            },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on("error", reject);
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.end();
    });
}

/** Which servers answer `/` through the load balancer, over `n` new connections. */
async function servedBy(n: number, from = "127.0.0.7"): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push((await request({ port: lb.https, from })).body.trim());
    return seen;
}

/** Requests through the load balancer, a new connection every `everyMs`, until stopped; counts what failed. */
function stream(everyMs: number): { stop: () => Promise<{ ok: number; failed: string[]; bodies: Set<string> }> } {
    let running = true;
    const result = { ok: 0, failed: [] as string[], bodies: new Set<string>() };
    const pending = new Set<Promise<void>>();
    const one = () => {
        const p = request({ port: lb.https, from: "127.0.0.6", timeoutMs: 30_000 })
            .then((r) => {
                if (r.status === 200) (result.ok++, result.bodies.add(r.body.trim()));
                else result.failed.push(`${r.status} ${r.body.slice(0, 80)}`);
            })
            .catch((e: Error) => void result.failed.push(e.message))
            .finally(() => pending.delete(p));
        pending.add(p);
    };
    const loop = (async () => {
        while (running) {
            one();
            await new Promise((r) => setTimeout(r, everyMs));
        }
        await Promise.all([...pending]);
    })();
    return { stop: async () => ((running = false), await loop, result) };
}

const ranSteps = (r: EngineResult) => [...new Set(steps(r, "update").filter((x) => x.type === "command:remote:Command" && x.op !== "same").map((x) => x.name))];

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-fleet-"));
    const image = ensureImage(path.join(CACHE, "e2e"));
    key = path.join(dir, "admin");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-admin", "-f", key]);
    const adminKey = fs.readFileSync(`${key}.pub`, "utf8").trim();
    sshPort = await freePort();
    // One multicast group per run: the private network reaches these three VMs only.
    const group = `230.0.0.1:${await freePort()}`;
    const boot = (m: typeof DB, forwardPrivate: number[], forward: number[]) =>
        bootVm({
            image,
            workDir: path.join(dir, m.name),
            userData: renderUserData({ hostname: m.name, adminUser: "deploy", adminSshPublicKeys: [adminKey], sshPort }),
            hostname: m.name,
            forward,
            same: [sshPort],
            sshPort,
            adminUser: "deploy",
            key,
            loopback: m.loopback,
            userNet: "10.0.1.0/24",
            privateNet: { group, address: `${m.address}/24`, mac: m.mac },
            forwardPrivate,
            // Three guests on the runner's two cores: one CPU each (bootVm's `cpus`).
            cpus: 1,
        });
    // The three boot in parallel (each disk is made before the next VM starts).
    const started = Date.now();
    apps = [];
    for (const m of APP) apps.push(await boot(m, [80, 443, 8404], [80, 443]));
    db = await boot(DB, [5432], [5432]);
    await Promise.all([...apps, db].map((vm) => vm.waitForSsh(600_000)));
    console.log(`fleet e2e: three VMs up in ${Math.round((Date.now() - started) / 1000)} s`);
    for (const vm of apps) {
        must(vm, "sudo install -d -m 0755 /opt/webapp");
        vm.ssh("sudo tee /opt/webapp/app.py >/dev/null && sudo chmod 0644 /opt/webapp/app.py", { input: APP_PY });
    }
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "policies")], { stdio: "pipe" });
    engine = new Engine();
    const upStarted = Date.now();
    first = await engine.run({ stack: STACK, op: "up", config: overrides(adminKey), secretConfig: { "webapp:sshPrivateKey": fs.readFileSync(key, "utf8") } });
    console.log(`fleet e2e: first pulumi up ${first.ok ? "converged" : "failed"} in ${Math.round((Date.now() - upStarted) / 1000)} s`);
    if (!first.ok) return;
    // The load balancer: both servers' 443 and 80 with the PROXY protocol, health-checked on 8404; and one frontend
    // per server, to ask a given server.
    lb = { https: await freePort(), http: await freePort(), direct: [await freePort(), await freePort()] };
    const servers = (port: number) => APP.map((m, i) => `    server app${i} ${m.loopback}:${apps[i].privatePorts[port]} send-proxy check port ${apps[i].privatePorts[8404]} inter 500 fall 2 rise 2`);
    const checked = ["    option httpchk GET /health", "    http-check expect status 200"];
    haproxy = await startHaproxy(
        dir,
        [
            "frontend https_in",
            `    bind 127.0.0.1:${lb.https}`,
            "    default_backend https_out",
            "frontend http_in",
            `    bind 127.0.0.1:${lb.http}`,
            "    default_backend http_out",
            "backend https_out",
            "    balance roundrobin",
            ...checked,
            ...servers(443),
            "backend http_out",
            "    balance roundrobin",
            ...checked,
            ...servers(80),
            ...APP.flatMap((m, i) => [`frontend direct${i}`, `    bind 127.0.0.1:${lb.direct[i]}`, `    default_backend direct${i}_out`, `backend direct${i}_out`, `    server app${i} ${m.loopback}:${apps[i].privatePorts[443]} send-proxy`]),
        ],
        lb.https,
        { timeoutSeconds: 60 },
    );
    await waitFor("the load balancer to see both servers healthy", async () => new Set(await servedBy(4).catch(() => [])).size === 2, { timeoutMs: 120_000, everyMs: 1000 }).catch((e: Error) => {
        throw new Error(`${e.message}\n${diagnose()}`);
    });
});

/** What an operator would look at when the load balancer finds no healthy server. */
function diagnose(): string {
    const out: string[] = [];
    for (const [i, vm] of apps.entries()) {
        const health = run("curl", ["-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", `http://${APP[i].loopback}:${vm.privatePorts[8404]}/health`]);
        out.push(`app ${i}: health listener from the runner: ${health.stdout} ${health.stderr}`);
        out.push(vm.ssh("sudo ss -Htlnp; systemctl is-active webapp nginx; sudo tail -5 /var/log/nginx/error.log; sudo journalctl -b -u nginx -n 10 --no-pager -o cat; sudo journalctl -u webapp -n 10 --no-pager -o cat; sudo ufw status numbered; sudo journalctl -k -n 5 --no-pager -o cat").stdout);
    }
    return out.join("\n");
}

afterAll(async () => {
    // E2E_KEEP=1 leaves the VMs running to look into a failure (each answers SSH on its loopback address).
    if (process.env.E2E_KEEP) {
        console.log(`fleet e2e: VMs kept; ssh -i ${key} -p ${sshPort} deploy@<${[...APP, DB].map((m) => m.loopback).join("|")}>`);
        return;
    }
    await haproxy?.stop();
    await Promise.all([...(apps ?? []), ...(db ? [db] : [])].map((vm) => vm.stop()));
    engine?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
});

test("pulumi up with the policy pack converges the two app servers and the database server", () => {
    expect(first.error).toBeUndefined();
    expect(first.ok).toBe(true);
    expect(policyEvents(first).filter((p) => p.enforcementLevel === "mandatory")).toEqual([]);
    expect(ranSteps(first)).toEqual(
        expect.arrayContaining([
            "host-0-firewall", "host-1-firewall", "db-host-firewall", "proxy-0-nginx", "proxy-1-nginx",
            "database-postgresql", "database-role", "service-0-service", "service-1-service", "backups-timers",
        ]),
    );
});

describe("through the load balancer", () => {
    test("requests reach both servers, and each app sees the client's address", async () => {
        const seen = await servedBy(8);
        expect(new Set(seen)).toEqual(new Set(APP.map((m) => `${m.name} v1`)));
        // nginx's access log on each server names the client (127.0.0.7), never the load balancer.
        for (const vm of apps) {
            const clients = must(vm, "sudo awk '{print $1}' /var/log/nginx/access.log | sort -u").split("\n");
            expect(clients).toContain("127.0.0.7");
            expect(clients).not.toContain(RUNNER);
        }
    });

    test("TLS-1 and HDR: http redirects to https, https carries the security headers", async () => {
        const plain = await request({ port: lb.http, from: "127.0.0.7", path: "/x", tls: false });
        expect(plain.status).toBe(301);
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
            https.get({ host: "127.0.0.1", port: lb.https, path: "/", headers: { host: DOMAIN }, servername: DOMAIN, rejectUnauthorized: false, agent: false }, (r) => (r.resume(), resolve(r))).on("error", reject),
        );
        expect(res.headers["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
        expect(res.headers["x-frame-options"]).toBe("DENY");
    });
});

describe("NET-6: the web ports of an app server answer the load balancer only", () => {
    test("nginx listens on the private address alone, and ufw drops 80/443/8404 from the other servers", () => {
        const listening = must(apps[0], "sudo ss -Htln | awk '{print $4}'").split("\n");
        for (const port of [80, 443, 8404]) expect(listening.filter((l) => l.endsWith(`:${port}`))).toEqual([`${APP[0].address}:${port}`]);
        for (const [from, name] of [[apps[1], "the other app server"], [db, "the database server"]] as const) {
            const probe = from.ssh(`for p in 80 443 8404; do timeout 3 bash -c "exec 3<>/dev/tcp/${APP[0].address}/$p" 2>/dev/null && echo "$p open" || echo "$p closed"; done`);
            expect([name, probe.stdout.trim().split("\n")]).toEqual([name, ["80 closed", "443 closed", "8404 closed"]]);
        }
    });
});

describe("the database server (NET-2, DB-*): on the private network only, and only over TLS", () => {
    test("PostgreSQL listens on loopback and the private address, not on the server's other network", () => {
        const listening = must(db, "sudo ss -Htln | awk '{print $4}'").split("\n").filter((l) => l.endsWith(":5432"));
        expect(listening.sort()).toEqual(["127.0.0.1:5432", `${DB.address}:5432`, "[::1]:5432"].sort());
    });

    test("from the runner neither address answers: not the user network, and ufw drops the private one", async () => {
        expect(await answers(DB.loopback, db.ports[5432], 8000)).toBe(false);
        expect(await answers(DB.loopback, db.privatePorts[5432], 8000)).toBe(false);
    });

    test("each app connects over TLS with its credential; without TLS PostgreSQL refuses it", async () => {
        const both = new Map<string, string>();
        for (let i = 0; i < 8 && both.size < 2; i++) {
            const r = await request({ port: lb.https, from: "127.0.0.7", path: "/db" });
            expect(r.status).toBe(200);
            const [host, ssl] = r.body.trim().split(" ");
            both.set(host, ssl);
        }
        expect(Object.fromEntries(both)).toEqual(Object.fromEntries(APP.map((m) => [m.name, "ssl=t"])));
        // The same role and password without TLS: pg_hba has hostssl lines only. The password goes in the
        // environment, read from the credential file on the server, never onto a command line.
        const plain = apps[0].ssh(
            `sudo bash -c 'PGPASSWORD=$(cat /etc/webapp/credentials/db-password) psql -X -At "host=${DB.address} dbname=webapp user=webapp sslmode=disable" -c "SELECT 1"'`,
        );
        expect(plain.status).not.toBe(0);
        expect(plain.stderr).toMatch(/no pg_hba\.conf entry for host "10\.0\.0\.10", user "webapp", database "webapp", no encryption/);
    });

    test("BK-1, BK-3, BK-7: the backup and the restore drill run on the database server, not on the app servers", () => {
        must(db, "sudo systemctl start webapp-backup@daily.service");
        const dumps = must(db, "sudo ls /var/backups/webapp/daily").split("\n").filter((f) => f.endsWith(".dump"));
        expect(dumps).toHaveLength(1);
        must(db, `sudo runuser -u postgres -- pg_restore --list /var/backups/webapp/daily/${dumps[0]} >/dev/null`);
        must(db, "sudo systemctl start webapp-restore-drill.service");
        expect(must(db, "sudo journalctl -u webapp-restore-drill.service -o cat --no-pager")).toMatch(/restore-drill: passed/);
        for (const vm of apps) expect(must(vm, "systemctl list-timers --all --no-legend | grep -c webapp-backup || true")).toBe("0");
    });
});

describe("LOG-2 behind the load balancer: five failed logins ban the client, not the load balancer", () => {
    test("the server that saw them bans 127.0.0.2 in nginx; another client and the health checks still get through", async () => {
        // One client, one connection (as a browser or a script keeps it): the load balancer sends all of it to one server.
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1, localAddress: "127.0.0.2" } as https.AgentOptions);
        const who = (await request({ port: lb.https, from: "127.0.0.2", agent })).body.trim().split(" ")[0];
        const i = APP.findIndex((m) => m.name === who);
        expect(i).toBeGreaterThanOrEqual(0);
        const statuses: number[] = [];
        for (let n = 0; n < 5; n++) statuses.push((await request({ port: lb.https, from: "127.0.0.2", path: "/login", method: "POST", agent })).status);
        agent.destroy();
        expect(statuses).toEqual([401, 401, 401, 401, 401]);
        const vm = apps[i];
        await waitFor("fail2ban to ban the client", () => /Banned IP list:\s+127\.0\.0\.2\s*$/m.test(must(vm, "sudo fail2ban-client status webapp")), { timeoutMs: 60_000, everyMs: 1000 });
        expect(must(vm, `sudo cat ${bannedMapFile("webapp")}`)).toBe("\\127.0.0.2 1;");
        // Asked on that server: the banned client gets 403, another client the app.
        expect((await request({ port: lb.direct[i], from: "127.0.0.2" })).status).toBe(403);
        expect(await request({ port: lb.direct[i], from: "127.0.0.3" })).toEqual({ status: 200, body: `${who} v1\n` });
        // The load balancer's address is not banned: both servers still pass its health checks and serve.
        expect(must(vm, "sudo fail2ban-client status webapp")).not.toContain(RUNNER);
        expect(new Set(await servedBy(6))).toEqual(new Set(APP.map((m) => `${m.name} v1`)));
        must(vm, "sudo fail2ban-client set webapp unbanip 127.0.0.2");
        expect(must(vm, `sudo cat ${bannedMapFile("webapp")}`)).toBe("");
    });
});

describe("a rolling update of the app unit", () => {
    test("under a steady stream of requests, the servers restart one at a time and no request fails", async () => {
        const load = stream(250);
        const started = Date.now();
        const second = await engine.run({ stack: STACK, op: "up", config: { "webapp:appExecStart": EXEC("v2") } });
        // A few more seconds of traffic after the update.
        await new Promise((r) => setTimeout(r, 5000));
        const result = await load.stop();
        console.log(`fleet e2e: rolling update in ${Math.round((Date.now() - started) / 1000)} s: ${result.ok} requests ok, ${result.failed.length} failed`);
        expect(second.error).toBeUndefined();
        expect(second.ok).toBe(true);
        expect(result.failed).toEqual([]);
        expect(result.ok).toBeGreaterThan(100);
        // Both versions served during the update, each server in turn.
        expect(result.bodies).toEqual(new Set(APP.flatMap((m) => [`${m.name} v1`, `${m.name} v2`])));
        // Each server's unit step ran, one after the other; the one-off database role did not run again.
        const ran = ranSteps(second);
        expect(ran).toEqual(expect.arrayContaining(["service-0-service", "service-1-service"]));
        expect(ran).not.toContain("database-role");
        expect(new Set(await servedBy(6))).toEqual(new Set(APP.map((m) => `${m.name} v2`)));
    });
});

/**
 * A test unit that configures the private interface late, as a provider's DHCP on a hotplugged interface may: only
 * once `unit` has begun to start, and 5 s after that. `Type=simple` with `Before=` lets `unit` begin as soon as this
 * one has been forked (a oneshot would hold it back until the address exists).
 */
const lateInterface = (unit: string, address: string) => `[Unit]
Description=The private interface, configured late (test)
Before=${unit}

[Service]
Type=simple
ExecStart=/bin/sh -c 'until [ "$$(systemctl show -P ActiveState ${unit})" = activating ]; do sleep 0.2; done; sleep 5; ip addr add ${address}/24 dev eth1; ip link set eth1 up'

[Install]
WantedBy=multi-user.target
`;

describe("after a reboot with the private interface configured late", () => {
    const late = [
        { vm: () => apps[0], unit: "nginx.service", address: APP[0].address, listener: `${APP[0].address}:443` },
        { vm: () => db, unit: "postgresql@15-main.service", address: DB.address, listener: `${DB.address}:5432` },
    ];

    test("nginx and PostgreSQL wait for their private addresses, come back on them, and the fleet serves", async () => {
        for (const l of late) {
            l.vm().ssh("sudo tee /etc/systemd/system/late-private-network.service >/dev/null", { input: lateInterface(l.unit, l.address) });
            must(l.vm(), "sudo rm /etc/network/interfaces.d/eth1 && sudo systemctl daemon-reload && sudo systemctl enable --quiet late-private-network.service");
        }
        const boots = late.map((l) => must(l.vm(), "cat /proc/sys/kernel/random/boot_id"));
        for (const l of late) l.vm().ssh("sudo systemctl reboot", { timeoutMs: 20_000 });
        await new Promise((r) => setTimeout(r, 10_000));
        await Promise.all(late.map((l) => l.vm().waitForSsh(600_000)));
        for (const [i, l] of late.entries()) {
            const vm = l.vm();
            expect(must(vm, "cat /proc/sys/kernel/random/boot_id")).not.toBe(boots[i]);
            // The unit began to start, then the address came, then the unit was up: it waited instead of failing.
            const at = (unit: string, property: string) => Number(must(vm, `systemctl show -P ${property} ${unit}`));
            const began = at(l.unit, "InactiveExitTimestampMonotonic");
            const addressed = at("late-private-network.service", "ExecMainExitTimestampMonotonic");
            const active = at(l.unit, "ActiveEnterTimestampMonotonic");
            const log = () => vm.ssh(`sudo journalctl -b -u ${l.unit} -u late-private-network -o short-monotonic --no-pager | tail -15`).stdout;
            expect({ unit: l.unit, order: began > 0 && began < addressed && addressed < active, log: began < addressed && addressed < active ? "" : log() }).toEqual({ unit: l.unit, order: true, log: "" });
            expect(must(vm, `systemctl is-active ${l.unit}`)).toBe("active");
            expect(must(vm, "sudo ss -Htln | awk '{print $4}'").split("\n")).toContain(l.listener);
        }
        await waitFor("the load balancer to take the rebooted server back", async () => new Set(await servedBy(4).catch(() => [])).size === 2, { timeoutMs: 180_000, everyMs: 1000 });
        const r = await request({ port: lb.direct[0], from: "127.0.0.7", path: "/db" });
        expect(r.status).toBe(200);
        expect(r.body.trim()).toBe(`${APP[0].name} ssl=t`);
    });
});

