/**
 * End to end: a real Debian 12 VM (QEMU), booted with the program's own cloud-init user data, converged by the
 * program's own remote steps (replayed over SSH until the real engine runs here), then probed from outside as an
 * attacker and an operator would. Each probe names its checklist control.
 */
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderUserData } from "../lib/render/cloud-init";
import type { PlanRun } from "../plan/run";
import { run, runIsolated } from "./helpers";
import { replay, StepResult } from "./support/replay";
import { bootVm, ensureImage, Vm } from "./support/vm";

jest.setTimeout(30 * 60 * 1000);

const ROOT = path.join(__dirname, "..");
const DOMAIN = "e2e.webapp.test";
let dir: string;
let key: string;
let vm: Vm;
let plan: PlanRun;
let first: StepResult[];
let firstMs: number;

function overrides(publicKey: string): Record<string, string> {
    return {
        "webapp:provider": "existing",
        "webapp:existingHosts": '["127.0.0.1"]',
        // Under QEMU's user networking every client arrives from the virtual gateway.
        "webapp:adminCidrs": '["10.0.2.2/32"]',
        "webapp:adminSshPublicKeys": JSON.stringify([publicKey]),
        "webapp:domain": DOMAIN,
        "webapp:tlsMode": "self-signed",
        "webapp:appExecStart": "/usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 --directory /opt/webapp/public",
    };
}

const ssh = (command: string, opts: Parameters<Vm["ssh"]>[1] = {}) => vm.ssh(command, opts);
const must = (command: string) => {
    const res = ssh(command);
    if (res.status !== 0) throw new Error(`${command} failed (${res.status}): ${res.stderr}${res.stdout}`);
    return res.stdout.trim();
};

function request(scheme: "http" | "https", urlPath: string, method = "GET"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
        const lib = scheme === "https" ? https : http;
        const req = lib.request(
            { host: "127.0.0.1", port: vm.ports[scheme === "https" ? 443 : 80], path: urlPath, method, headers: { host: DOMAIN }, servername: DOMAIN, rejectUnauthorized: false, agent: false, timeout: 30_000 },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            },
        );
        req.on("error", reject);
        req.end();
    });
}

/** Whether a TCP service answers on a forwarded port (QEMU accepts, then closes when the guest refuses). */
function answers(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        let data = false;
        s.on("data", () => (data = true));
        s.on("connect", () => s.write("GET / HTTP/1.0\r\n\r\n"));
        s.setTimeout(5000, () => s.destroy());
        s.on("close", () => resolve(data));
        s.on("error", () => resolve(false));
    });
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-"));
    const image = ensureImage(path.join(ROOT, ".cache", "e2e"));
    key = path.join(dir, "admin");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-admin", "-f", key]);
    const adminKey = fs.readFileSync(`${key}.pub`, "utf8").trim();
    const userData = renderUserData({ hostname: "webapp-e2e-0", adminUser: "deploy", adminSshPublicKeys: [adminKey], sshPort: 22 });
    vm = await bootVm({ image, workDir: path.join(dir, "vm"), userData, hostname: "webapp-e2e-0", forward: [22, 80, 443, 5432, 8000], adminUser: "deploy", key });
    await vm.waitForSsh();
    // The app's own pipeline would deliver its code; here a static site with a health endpoint.
    must("sudo mkdir -p /opt/webapp/public && echo ok | sudo tee /opt/webapp/public/health >/dev/null && echo '<h1>webapp</h1>' | sudo tee /opt/webapp/public/index.html >/dev/null");
    plan = await runIsolated({ stack: "staging", overrides: overrides(adminKey) });
    if (plan.error) throw plan.error;
    const started = Date.now();
    first = replay(plan, { key, port: () => vm.ports[22] });
    firstMs = Date.now() - started;
});

afterAll(async () => {
    await vm?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

test("every remote step of the program converges the fresh server", () => {
    const failed = first.filter((s) => s.status !== 0);
    expect(failed.map((s) => `${s.name}: ${s.stderr.slice(-800)}${s.stdout.slice(-800)}`)).toEqual([]);
    expect(first.map((s) => s.name)).toEqual(expect.arrayContaining(["host-0-ssh", "host-0-firewall", "proxy-0-nginx", "database-postgresql", "service-0-service", "backups-timers"]));
});

describe("from outside, as an attacker", () => {
    test("SSH-1: root cannot log in", () => {
        const res = ssh("true", { user: "root" });
        expect(res.status).toBe(255);
        expect(res.stderr).toMatch(/Permission denied/);
    });

    test("SSH-2: password and keyboard-interactive login are refused; only keys are offered", () => {
        const res = ssh("true", { extra: ["-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no"] });
        expect(res.status).toBe(255);
        expect(res.stderr).toMatch(/Permission denied \(publickey\)/);
    });

    test("SSH-3: only the admin user gets in, even with the admin's key", () => {
        expect(ssh("true", { user: "webapp" }).stderr).toMatch(/Permission denied/);
        expect(ssh("whoami").stdout.trim()).toBe("deploy");
    });

    test("TLS-1: http answers 301 to https", async () => {
        const res = await request("http", "/some/page");
        expect(res.status).toBe(301);
        expect(res.headers.location).toBe(`https://${DOMAIN}/some/page`);
    });

    test("TLS-4, HDR-1..6: https serves the app with HSTS and every security header", async () => {
        const res = await request("https", "/");
        expect(res.status).toBe(200);
        expect(res.body).toContain("<h1>webapp</h1>");
        expect(res.headers["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
        expect(res.headers).toMatchObject({ "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "strict-origin-when-cross-origin", server: "nginx" });
        expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
    });

    test("RL-1: the 6th login request within a minute gets 429", async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push((await request("https", "/login", "POST")).status);
        expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
        expect(statuses[5]).toBe(429);
    });

    test("NET-2, NET-4: PostgreSQL and the app port are closed from outside", async () => {
        expect(await answers(vm.ports[5432])).toBe(false);
        expect(await answers(vm.ports[8000])).toBe(false);
        // ...while both answer on the server's loopback.
        expect(must("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/health")).toBe("200");
        expect(must("sudo runuser -u postgres -- psql -X -At -c 'SELECT 1'")).toBe("1");
    });
});

describe("on the server, as an operator", () => {
    test("NET-3, SSH-4, LOG-2: ufw is active with default deny, fail2ban runs the sshd and app jails", () => {
        const ufw = must("sudo ufw status verbose");
        expect(ufw).toMatch(/Status: active/);
        expect(ufw).toMatch(/Default: deny \(incoming\)/);
        expect(must("sudo fail2ban-client status")).toMatch(/Jail list:\s+sshd, webapp/);
    });

    test("SVC-1..4: the app runs sandboxed as its own user, its secrets as credentials only", () => {
        expect(must("systemctl is-active webapp")).toBe("active");
        const show = must("systemctl show webapp -p User -p NoNewPrivileges -p ProtectSystem -p PrivateTmp -p Restart");
        expect(show.split("\n").sort()).toEqual(["NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=strict", "Restart=on-failure", "User=webapp"]);
        expect(must("sudo ls /run/credentials/webapp.service").split("\n")).toEqual(["app-secret-key", "db-password", "encryption-key", "encryption-key-previous"]);
        const password = must("sudo cat /etc/webapp/credentials/db-password");
        expect(password).toHaveLength(32);
        expect(must("systemctl show webapp -p Environment")).not.toContain(password);
        expect(must("ps -eo args")).not.toContain(password);
        expect(must("sudo stat -c '%U %a' /etc/webapp/credentials/db-password")).toBe("root 600");
    });

    test("DB-2, DB-3: the app role logs in over TLS with its password and is no superuser", () => {
        const password = must("sudo cat /etc/webapp/credentials/db-password");
        const res = ssh(`PGPASSWORD="$(cat)" psql -X -At "host=127.0.0.1 dbname=webapp user=webapp sslmode=require" -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"`, { input: password });
        expect(res.stdout.trim().split("\n")).toEqual(["t", "f"]);
    });

    test("BK-1, BK-3, BK-7: the backup timer's job writes a verified dump and the restore drill passes", () => {
        expect(must("systemctl is-active webapp-backup-daily.timer webapp-backup-weekly.timer webapp-restore-drill.timer webapp-backup-stale-check.timer").split("\n")).toEqual(["active", "active", "active", "active"]);
        must("sudo systemctl start webapp-backup@daily.service");
        const dumps = must("sudo ls /var/backups/webapp/daily").split("\n");
        expect(dumps).toEqual([expect.stringMatching(/^webapp-\d{8}T\d{6}Z\.dump$/), expect.stringMatching(/\.dump\.sha256$/)]);
        must(`sudo runuser -u postgres -- pg_restore --list /var/backups/webapp/daily/${dumps[0]} >/dev/null`);
        must("sudo systemctl start webapp-restore-drill.service");
        expect(must("sudo journalctl -u webapp-restore-drill.service -o cat --no-pager")).toMatch(/restore-drill: passed/);
        must("sudo systemctl start webapp-backup-stale-check.service");
    });
});

describe("idempotency and restarts", () => {
    test("applying the unchanged program again changes nothing, in a fraction of the first converge", () => {
        const started = Date.now();
        const second = replay(plan, { key, port: () => vm.ports[22] });
        const secondMs = Date.now() - started;
        expect(second.filter((s) => s.status !== 0).map((s) => s.name)).toEqual([]);
        const changed = second.filter((s) => !/result: unchanged/.test(s.stdout)).map((s) => s.name);
        expect(changed).toEqual([]);
        fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
        fs.writeFileSync(
            path.join(ROOT, "bench", "results", "e2e.json"),
            JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, accel: "tcg" }, steps: first.length, firstConvergeMs: firstMs, secondConvergeMs: secondMs, ratio: secondMs / firstMs, perStep: first.map((s, i) => ({ name: s.name, firstMs: s.ms, secondMs: second[i]?.ms })) }, null, 2) + "\n",
        );
        // The second run still pays SSH, sudo and each validation under software emulation.
        expect(secondMs).toBeLessThan(firstMs * 0.6);
    });

    test("after a reboot every service comes back", async () => {
        ssh("sudo systemctl reboot");
        await new Promise((r) => setTimeout(r, 10_000));
        await vm.waitForSsh();
        const deadline = Date.now() + 120_000;
        let states = "";
        while (Date.now() < deadline) {
            states = ssh("systemctl is-active nginx postgresql fail2ban ufw webapp webapp-healthcheck.timer webapp-resource-alerts.timer").stdout.trim();
            if (states.split("\n").every((s) => s === "active")) break;
            await new Promise((r) => setTimeout(r, 5000));
        }
        expect(states.split("\n")).toEqual(Array(7).fill("active"));
        // "active" means started; the app may still be opening its port.
        let health = 0;
        for (let i = 0; i < 20 && health !== 200; i++) {
            health = (await request("https", "/health")).status;
            if (health !== 200) await new Promise((r) => setTimeout(r, 3000));
        }
        expect(health).toBe(200);
    });

    test("SSH-4: five failed logins from a client get it banned", async () => {
        const intruder = path.join(dir, "intruder");
        run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", intruder]);
        for (let i = 0; i < 6; i++) ssh("true", { user: `intruder${i}`, key: intruder });
        let banned = false;
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline && !banned) {
            await new Promise((r) => setTimeout(r, 5000));
            banned = ssh("true", { extra: ["-o", "ConnectTimeout=8"] }).status !== 0;
        }
        expect(banned).toBe(true);
    });
});

