/**
 * End to end: a real Debian 12 VM (QEMU), booted with the program's own cloud-init user data, converged by a real
 * `pulumi up` of the staging stack with the policy pack (provider existing; the CLI built by .ci/run, stand-in
 * providers from tests/engine), then probed from outside as an attacker and an operator would. Each probe names
 * its checklist control. Then: a second `up` changes nothing, an insecure change is refused before any step
 * touches the host, the state holds no secret in plain text, and moving the clock past a rotation period
 * replaces exactly the rotated secrets and the steps that carry them.
 */
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { parse } from "yaml";
import { BLACKLISTED_MODULES } from "../lib/render/baseline";
import { KERNEL_HARDENING } from "../lib/render/sysctl";
import { dualSlotKeepers, rotationGeneration } from "../lib/rotation";
import { Engine, EngineResult, policyEvents, steps } from "./engine/engine";
import { run } from "./helpers";
import { answers, Vm } from "./support/vm";
import { convergedSingleHost, DOMAIN, ROOT, runVerify, SingleHost, STACK, VerifyReport } from "./support/single-host";
import { PROBE_PACKAGE, securityRepo } from "./support/apt-repo";
import { alertScriptPath } from "../lib/render/monitoring";
import { liveFindings } from "../verify/live";
import { parseProbe, renderProbe, showBlocks } from "../verify/probe";

jest.setTimeout(30 * 60 * 1000);

let dir: string;
let key: string;
let vm: Vm;
let engine: Engine;
let first: EngineResult;
let host: SingleHost;
/** SSH listens on this port in the guest and on the host's loopback alike, so the stack's config can name it. */
let sshPort: number;

const ssh = (command: string, opts: Parameters<Vm["ssh"]>[1] = {}) => vm.ssh(command, opts);
const must = (command: string, opts: Parameters<Vm["ssh"]>[1] = {}) => {
    const res = ssh(command, opts);
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

/** The remote steps an update ran, by name (not those its preview only planned). */
const ranSteps = (r: EngineResult) => [...new Set(steps(r, "update").filter((x) => x.type === "command:remote:Command" && x.op !== "same").map((x) => x.name))];

/** How many step scripts sudo ran on the host since a time (sudo logs each `bash /tmp/tmp.…`). */
const stepRunsSince = (epoch: string) => Number(must(`sudo journalctl _COMM=sudo --since @${epoch} -o cat --no-pager | grep -c 'COMMAND=/usr/bin/bash /tmp/tmp\\.' || true`));

beforeAll(async () => {
    host = await convergedSingleHost();
    ({ dir, key, vm, engine, first, sshPort } = host);
});

afterAll(async () => {
    await host?.dispose();
});

test("pulumi up with the policy pack converges the fresh server", () => {
    expect(first.error).toBeUndefined();
    expect(first.ok).toBe(true);
    expect(policyEvents(first).filter((p) => p.enforcementLevel === "mandatory")).toEqual([]);
    expect(ranSteps(first)).toEqual(expect.arrayContaining(["host-0-ssh", "host-0-baseline", "host-0-audit", "host-0-firewall", "proxy-0-nginx", "database-postgresql", "database-role", "service-0-credentials", "service-0-service", "backups-timers"]));
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
        expect(await answers("127.0.0.1", vm.ports[5432])).toBe(false);
        expect(await answers("127.0.0.1", vm.ports[8000])).toBe(false);
        // ...while both answer on the server's loopback.
        expect(must("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/health")).toBe("200");
        expect(must("sudo runuser -u postgres -- psql -X -At -c 'SELECT 1'")).toBe("1");
    });
});

describe("the deploy path (README, Deploying from CI): only the admin network reaches SSH", () => {
    // The runner that applied the stack sits in the admin network (10.0.2.2, webapp:adminCidrs). The VM's second
    // network is the internet: there the guest sees clients arrive from 10.0.3.2.
    test("NET-1: from an address outside adminCidrs SSH gets no answer at all, while the web answers", async () => {
        const outside = spawnSync(
            "ssh",
            ["-p", String(vm.outsidePorts[sshPort]), "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "deploy@127.0.0.1", "true"],
            { encoding: "utf8", timeout: 60_000 },
        );
        expect(outside.status).toBe(255);
        expect(outside.stderr).not.toMatch(/Permission denied/); // no SSH server ever answered
        expect(await answers("127.0.0.1", vm.outsidePorts[sshPort])).toBe(false);
        expect(await answers("127.0.0.1", vm.outsidePorts[80])).toBe(true);
        // The same key from the admin network gets in: the path the deploy took.
        expect(must("echo in")).toBe("in");
        // And the guest saw the outside client as 10.0.3.2, which ufw dropped (the kernel log of UFW BLOCK).
        expect(must("sudo journalctl -k --no-pager -o cat | grep -c 'UFW BLOCK.*SRC=10.0.3.2 .*DPT=" + sshPort + " ' || true")).not.toBe("0");
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

describe("the OS baseline on the live host (SSH-5, SSH-6, HOST-6..10, LOG-3)", () => {
    test("HOST-6: APT fetches from Debian's security suite, and unattended-upgrades takes from it", () => {
        // --print-uris lists what an update would fetch without the network the VM lacks.
        expect(must("apt-get -q --print-uris update")).toMatch(/debian-security\/dists\/bookworm-security\/InRelease/);
        expect(must("apt-config dump | grep -i origins-pattern")).toMatch(/label=Debian-Security/);
        expect(ssh("sudo unattended-upgrade --dry-run --debug 2>&1 | grep -m1 'Allowed origins are'").stdout).toMatch(/Allowed origins are: .*codename=bookworm-security,label=Debian-Security/);
    });

    test("SSH-5, SSH-6: only Ed25519 and RSA-3072 host keys, post-quantum key exchange kept, no small groups, no compression, 4 sessions", () => {
        // One connection per key type; the post-quantum key exchange is slow under TCG, hence the long timeout.
        const scanType = (type: string) => run("ssh-keyscan", ["-T", "60", "-t", type, "-p", String(vm.ports[sshPort]), "127.0.0.1"]).stdout;
        const scan = ["ed25519", "rsa", "ecdsa"].map(scanType).join("");
        const types = [...scan.matchAll(/^[^#\s]\S* (\S+) /gm)].map((m) => m[1]).sort();
        expect(types).toEqual(["ssh-ed25519", "ssh-rsa"]);
        expect(must("sudo sshd -T | grep '^hostkey ' | sort")).toBe("hostkey /etc/ssh/ssh_host_ed25519_key\nhostkey /etc/ssh/ssh_host_rsa_key");
        const rsa = path.join(dir, "host-rsa.pub");
        fs.writeFileSync(rsa, scan.split("\n").find((l) => / ssh-rsa /.test(l))!.split(" ").slice(1).join(" ") + "\n");
        expect(Number(run("ssh-keygen", ["-l", "-f", rsa]).stdout.split(" ")[0])).toBeGreaterThanOrEqual(3072);
        const t = must("sudo sshd -T");
        expect(t).toMatch(/^kexalgorithms sntrup761x25519-sha512@openssh.com,/m);
        expect(t).not.toMatch(/diffie-hellman-group14/);
        expect(t).toMatch(/^compression no$/m);
        expect(t).toMatch(/^maxsessions 4$/m);
        expect(must("awk '$1 !~ /^#/ && $5 < 3071' /etc/ssh/moduli | wc -l")).toBe("0");
    });

    test("HOST-7: the kernel runs with the self-protection settings", () => {
        const keys = KERNEL_HARDENING.map(([k]) => k);
        expect(must(`sudo /usr/sbin/sysctl -n ${keys.join(" ")}`).split("\n")).toEqual(KERNEL_HARDENING.map(([, v]) => v));
    });

    test("HOST-8: no core dumps for a login, for services and for the app", () => {
        expect(must("bash -lc 'ulimit -Hc'")).toBe("0");
        expect(must("systemctl show -p DefaultLimitCORE")).toBe("DefaultLimitCORE=0");
        expect(must("systemctl show webapp -p LimitCORE")).toBe("LimitCORE=0");
        expect(must("/usr/sbin/sysctl -n fs.suid_dumpable")).toBe("0");
    });

    test("HOST-9: the unused protocols and file systems cannot be loaded", () => {
        for (const [m] of BLACKLISTED_MODULES) {
            const res = ssh(`sudo modprobe ${m}`);
            expect([m, res.status]).not.toEqual([m, 0]);
        }
        expect(must("lsmod | awk '{print $1}'").split("\n")).not.toEqual(expect.arrayContaining(["dccp", "sctp", "rds", "tipc"]));
    });

    test("HOST-10: login umask 027, home 0750, cron and sshd_config for root only", () => {
        expect(must("bash -lc umask")).toBe("0027");
        expect(must("grep -E '^(UMASK|HOME_MODE)' /etc/login.defs").split("\n").sort()).toEqual(["HOME_MODE 0750", "UMASK 027"]);
        expect(must("stat -c '%n %a' /home/deploy /etc/ssh/sshd_config").split("\n")).toEqual(["/home/deploy 750", "/etc/ssh/sshd_config 600"]);
        const cron = must("for p in /etc/crontab /etc/cron.d /etc/cron.daily; do [ -e $p ] && stat -c '%a' $p; done; true");
        for (const mode of cron.split("\n").filter(Boolean)) expect(mode).toMatch(/^[67]00$/);
    });

    test("LOG-3: auditd runs with auditing enabled and the rules loaded, its log bounded", () => {
        expect(must("systemctl is-active auditd")).toBe("active");
        expect(must("sudo auditctl -s")).toMatch(/^enabled 1$/m);
        const rules = must("sudo auditctl -l");
        for (const r of ["-w /etc/passwd -p wa -k identity", "-w /etc/shadow -p wa -k identity", "-w /etc/ssh/sshd_config -p wa -k sshd"]) expect(rules).toContain(r);
        expect(rules).toMatch(/-w \/etc\/sudoers\.d\/? -p wa -k sudoers/);
        expect(rules).toMatch(/-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -F key=time-change/);
        expect(rules).toMatch(/-a always,exit -F arch=b64 -S init_module,delete_module,finit_module -F key=modules/);
        // A change to a watched file is recorded under its key, with the admin who logged in (auid), not only root.
        // ausearch reads stdin when it is not a terminal, as under ssh here; --input-logs makes it read the log.
        must("sudo touch /etc/sudoers.d/zz-audit-probe && sudo rm /etc/sudoers.d/zz-audit-probe && sudo modprobe dccp; true");
        const recorded = (k: string) => must(`sudo ausearch --input-logs -i -k ${k} -m SYSCALL </dev/null; true`);
        expect(recorded("sudoers")).toMatch(/syscall=(openat|unlink|unlinkat) .*auid=deploy .*comm=(touch|rm) .*key=sudoers/);
        expect(recorded("modules")).toMatch(/auid=deploy .*comm=modprobe .*key=modules/);
        expect(must("sudo grep -E '^(max_log_file|num_logs|max_log_file_action) ' /etc/audit/auditd.conf").split("\n")).toEqual(["max_log_file = 8", "num_logs = 5", "max_log_file_action = ROTATE"]);
    });
});

describe("npm run verify: the running host against what was deployed and against the checklist (issue 16)", () => {
    type Report = VerifyReport;
    const verify = () => runVerify(host);
    /** What verify must not change: every managed file's mtime, every unit's restart count and state, the packages. */
    const snapshot = () =>
        must(
            "sudo bash -c 'stat -c \"%n %Y\" /etc/ssh/sshd_config.d/* /etc/ufw/pulumi-rules /etc/nginx/sites-enabled/webapp /etc/systemd/system/webapp.service /etc/fail2ban/jail.d/* /etc/webapp/tls/* 2>&1; " +
                "for u in ssh nginx postgresql fail2ban ufw auditd webapp; do echo $u $(systemctl show -P NRestarts,ActiveEnterTimestampMonotonic $u | tr \"\\n\" \" \"); done; dpkg-query -W | sha256sum; ufw status numbered | sha256sum'",
        );
    const ids = (r: Report) => [...new Set(r.findings.map((f) => f.checklistId ?? f.policy))].sort();

    test("after the converge verify is clean and changes nothing on the host", () => {
        const before = snapshot();
        const { status, report } = verify();
        expect(report.findings.map((f) => `${f.policy}: ${f.message}`)).toEqual([]);
        expect(status).toBe(0);
        expect(snapshot()).toBe(before);
        expect(report.hosts).toEqual([expect.objectContaining({ id: `deploy@127.0.0.1:${sshPort}`, unreachable: null, drifted: 0, live: 0 })]);
        console.log(`verify: probe ran ${report.hosts[0].probeMs} ms on the host; its sections (ms): ${JSON.stringify(report.hosts[0].sectionMs)}`);
    });

    test("a timer whose job runs right now is not named; a stopped one is (systemd's own states, read with the next run)", () => {
        // Two timers like the resource alerts' (a first run, then one an hour after each): one's job runs through the
        // probe, the other is stopped. A timer has no next run while its job runs; systemd arms it when the job ends.
        const units = ["webapp-verify-busy", "webapp-verify-stopped"];
        const timer = (u: string, first: string) => must(`sudo systemd-run --quiet --unit=${u} --on-active=${first} --on-unit-active=1h --timer-property=AccuracySec=1ms /bin/sleep 300`);
        timer(units[0], "1s");
        timer(units[1], "1h");
        must(`sudo systemctl stop ${units[1]}.timer`);
        try {
            must(`for i in $(seq 100); do [ "$(systemctl show -P SubState ${units[0]}.timer)" = running ] && exit 0; sleep 0.2; done; exit 1`);
            const probe = parseProbe(must("sudo bash -s", { input: renderProbe({ files: [], units: units.map((u) => `${u}.timer`), appName: "webapp" }) }));
            const busy = showBlocks(probe.sections.get("units") ?? "").find((p) => p.get("Id") === `${units[0]}.timer`);
            expect([busy?.get("SubState"), busy?.get("NextElapseUSecRealtime"), busy?.get("NextElapseUSecMonotonic")]).toEqual(["running", expect.stringMatching(/^(n\/a|)$/), expect.stringMatching(/^(0|infinity|n\/a|)$/)]);
            const host = { id: "vm", host: "127.0.0.1", port: sshPort, user: "deploy", steps: [] };
            const timers = liveFindings(host, probe, { appName: "webapp", wantedOpen: ["80", "443"] }).filter((f) => f.message.includes(".timer"));
            expect(timers.map((f) => [f.id, f.message])).toEqual([["MON-1", "webapp-verify-stopped.timer has no next run (last run: never)"]]);
        } finally {
            const all = units.map((u) => `${u}.timer ${u}.service`).join(" ");
            must(`sudo systemctl stop ${all}; sudo systemctl reset-failed ${all} 2>/dev/null; true`);
        }
    });

    test("eleven hand changes are each named with their ID (and a diff for files); the printed repairs make it clean again", async () => {
        // A test CA and a certificate it issued that expired a year ago.
        const ca = path.join(dir, "test-ca");
        fs.mkdirSync(ca);
        const openssl = (args: string[], faked = false) => {
            const r = run(faked ? "faketime" : "openssl", faked ? ["-f", "-400d", "openssl", ...args] : args, { cwd: ca });
            if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
        };
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650", "-subj", "/CN=webapp test CA", "-keyout", "ca.key", "-out", "ca.pem"]);
        openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${DOMAIN}`, "-keyout", "leaf.key", "-out", "leaf.csr"]);
        openssl(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-out", "leaf.pem"], true);
        ssh("sudo tee /etc/webapp/tls/fullchain.pem >/dev/null", { input: fs.readFileSync(path.join(ca, "leaf.pem"), "utf8") });
        ssh("sudo tee /etc/webapp/tls/privkey.pem >/dev/null", { input: fs.readFileSync(path.join(ca, "leaf.key"), "utf8") });
        must(
            [
                "echo 'PasswordAuthentication yes' | sudo tee /etc/ssh/sshd_config.d/00-local.conf >/dev/null && sudo systemctl reload ssh",
                "sudo systemctl stop fail2ban",
                "sudo ufw allow 5432 >/dev/null",
                // The newest backup gone, and the rest 27 hours old: as if the clock had moved past 26 h without one.
                "newest=$(sudo find /var/backups/webapp -name '*.dump' -printf '%T@ %p\\n' | sort -n | tail -1 | cut -d' ' -f2) && sudo rm -f \"$newest\" \"$newest.sha256\" && sudo find /var/backups/webapp -type f -exec touch -d '27 hours ago' {} +",
                "sudo sed -i '/X-Content-Type-Options/d' /etc/nginx/sites-enabled/webapp",
                // The login path's rate limit gone from the same file.
                "sudo sed -i '/limit_req zone=[^ ]*login/d' /etc/nginx/sites-enabled/webapp",
                "sudo systemctl reload nginx",
                "sudo sed -i 's/^ProtectSystem=strict$/ProtectSystem=full/' /etc/systemd/system/webapp.service && sudo systemctl daemon-reload",
                // An admin's nginx file no step manages, serving plain HTTP on another port (nginx -T shows it).
                "printf 'server {\\n    listen 8081;\\n    location / { return 200 \"legacy\"; }\\n}\\n' | sudo tee /etc/nginx/conf.d/legacy.conf >/dev/null && sudo nginx -t -q && sudo systemctl reload nginx",
                // The disk alert raised to 99 %.
                `sudo sed -i 's/^DISK_PERCENT=85$/DISK_PERCENT=99/' ${alertScriptPath("webapp")}`,
            ].join(" && "),
        );
        // A security update that unattended-upgrade leaves: the installed version of a package held, and its update
        // offered by a repository with Debian's security label; unattended-upgrade runs for real after the lists changed.
        const repo = securityRepo(path.join(dir, "apt"), { installed: "1.0", update: "1.0+deb12u1" });
        const tar = execFileSync("tar", ["-C", path.join(dir, "apt"), "-cf", "-", "repo", path.basename(repo.oldDeb)]);
        must("base64 -d | sudo tar -C /srv -xf - --one-top-level=verify-apt", { input: tar.toString("base64") });
        must(
            [
                `sudo dpkg -i /srv/verify-apt/${path.basename(repo.oldDeb)} >/dev/null && sudo apt-mark hold ${PROBE_PACKAGE} >/dev/null`,
                `echo '${repo.sourcesLine("/srv/verify-apt/repo")}' | sudo tee /etc/apt/sources.list.d/verify-security.list >/dev/null`,
                // Only that repository is fetched; the other lists stay as they are.
                "sudo apt-get -qq -o DPkg::Lock::Timeout=300 update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/verify-security.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0",
                "sudo unattended-upgrade",
            ].join(" && "),
            { timeoutMs: 600_000 },
        );
        const { status, report } = verify();
        expect(status).toBe(1);
        const named = (id: string) => report.findings.filter((f) => (f.checklistId ?? f.policy) === id).map((f) => f.message);
        expect(named("SSH-2")).toEqual([expect.stringMatching(/^sshd runs with passwordauthentication yes \(wanted no\)/)]);
        expect(named("SSH-4")).toEqual([expect.stringMatching(/^fail2ban is not running/)]);
        expect(named("LOG-2")).toEqual([expect.stringMatching(/^fail2ban is not running/)]);
        expect(named("host-drift-unit")).toEqual([expect.stringMatching(/^fail2ban on deploy@127\.0\.0\.1:\d+ is enabled and inactive/)]);
        expect(named("NET-2")).toEqual(expect.arrayContaining([expect.stringMatching(/^ufw admits port 5432 from anywhere/)]));
        expect(named("BK-8")).toEqual([expect.stringMatching(/^(the newest verified backup is 2\d\.\d h old|no verified backup)/)]);
        expect(named("HDR-1")).toEqual(expect.arrayContaining([expect.stringMatching(/^a 200 .*no X-Content-Type-Options header/), expect.stringMatching(/^an error page .*no X-Content-Type-Options header/)]));
        // The pack, run on the host as it is, says the same of the site and the unit under its own policy names.
        expect(named("HDR-1")).toEqual(expect.arrayContaining([expect.stringMatching(/X-Content-Type-Options.*\[on deploy@127\.0\.0\.1:\d+ as it runs; the deployed intent passes\]/)]));
        expect(named("SVC-2")).toEqual(expect.arrayContaining([expect.stringMatching(/ProtectSystem=full \(wanted strict\)/), expect.stringMatching(/as it runs; the deployed intent passes/)]));
        expect(named("TLS-1")).toEqual(expect.arrayContaining([expect.stringMatching(/^\/etc\/nginx\/conf\.d\/legacy\.conf .*Repair: remove that file from the host, or manage it in the program\.$/)]));
        expect(named("RL-1")).toEqual(expect.arrayContaining([expect.stringMatching(/^10 requests in a row to \/login got no 429/), expect.stringMatching(/as it runs; the deployed intent passes/)]));
        expect(named("MON-1")).toEqual([expect.stringMatching(/99.*as it runs; the deployed intent passes/)]);
        expect(named("HOST-1")).toEqual([expect.stringMatching(new RegExp(`^1 security update is pending that unattended-upgrade did not install in its last run .*: ${PROBE_PACKAGE} 1\\.0 -> 1\\.0\\+deb12u1 \\(held\\)`))]);
        expect(named("TLS-5")).toEqual([expect.stringMatching(/^the certificate expired 3\d\d\.\d days ago .*webapp test CA/), expect.stringMatching(/^the site serves a certificate that expired 3\d\d\.\d days ago/)]);
        const drifted = named("host-drift-file");
        const driftOf = (p: string) => drifted.filter((m) => m.startsWith(`${p} on `));
        expect(drifted).toHaveLength(3);
        expect(driftOf("/etc/nginx/sites-enabled/webapp")).toEqual([expect.stringMatching(/\n-\s+add_header X-Content-Type-Options "nosniff" always;/)]);
        expect(driftOf("/etc/systemd/system/webapp.service")).toEqual([expect.stringMatching(/\n-ProtectSystem=strict\n\+ProtectSystem=full/)]);
        expect(driftOf(alertScriptPath("webapp"))).toEqual([expect.stringMatching(/\n-DISK_PERCENT=85\n\+DISK_PERCENT=99/)]);
        // No secret of the stack in the report.
        const secrets = must("sudo find /etc/webapp/credentials -type f -exec base64 -w0 {} \\; -exec echo \\;").split("\n").map((b) => Buffer.from(b, "base64").toString("utf8").trim());
        expect(secrets.length).toBeGreaterThan(2);
        for (const s of secrets) expect(JSON.stringify(report)).not.toContain(s);
        // The printed repairs: one `pulumi up --replace` per drifted step (run here as one update), one command for the backup.
        const repairs = [...new Set(report.findings.map((f) => /Repair: (.*?)(?:\n|$)/.exec(f.message)?.[1]).filter((c): c is string => !!c))];
        const replaced = repairs.map((c) => /^pulumi up --replace '([^']+)' --stack staging$/.exec(c)?.[1]).filter((u): u is string => !!u);
        const commands = repairs.filter((c) => !c.startsWith("pulumi "));
        const monitoring = replaced.map((u) => u.split("::").pop()!).find((n) => n.endsWith("-monitoring"));
        expect(replaced.map((u) => u.split("::").pop()).sort()).toEqual(["host-0-fail2ban", "host-0-firewall", "host-0-ssh", monitoring, "proxy-0-nginx", "service-0-service"].sort());
        expect(commands.sort()).toEqual([
            "remove that file from the host, or manage it in the program.",
            `ssh -p ${sshPort} deploy@127.0.0.1 'sudo apt-mark unhold ${PROBE_PACKAGE} && sudo unattended-upgrade'`,
            `ssh -p ${sshPort} deploy@127.0.0.1 'sudo systemctl start webapp-backup@daily.service'`,
        ]);
        const up = await engine.run({ stack: STACK, op: "up", replace: replaced });
        expect(up.error).toBeUndefined();
        // The commands as printed (the test's ssh helper is the same connection), and the unmanaged file removed.
        for (const c of commands.filter((x) => x.startsWith("ssh "))) must(c.replace(/^ssh -p \d+ deploy@127\.0\.0\.1 '(.*)'$/, "$1"), { timeoutMs: 600_000 });
        must("sudo rm /etc/nginx/conf.d/legacy.conf && sudo systemctl reload nginx");
        expect(must(`dpkg-query -W -f='\${Version}' ${PROBE_PACKAGE}`)).toBe("1.0+deb12u1");
        const again = verify();
        expect(again.report.findings.map((f) => `${f.policy}: ${f.message}`)).toEqual([]);
        expect(again.status).toBe(0);
        expect(ids(report)).toEqual(["BK-8", "HDR-1", "HOST-1", "LOG-2", "MON-1", "NET-2", "RL-1", "SSH-2", "SSH-4", "SVC-2", "TLS-1", "TLS-5", "host-drift-file", "host-drift-unit"]);
    });
});

describe("idempotency and restarts", () => {
    test("a second pulumi up --expect-no-changes passes and runs no step on the host", async () => {
        const since = must("date -u +%s");
        // The check below can fail: the first up ran every step through sudo.
        expect(stepRunsSince("0")).toBeGreaterThanOrEqual(ranSteps(first).length);
        const second = await engine.run({ stack: STACK, op: "up", expectNoChanges: true });
        expect(second.error).toBeUndefined();
        expect(steps(second).filter((x) => x.op !== "same")).toEqual([]);
        expect(stepRunsSince(since)).toBe(0);
    });

    test("the policy pack refuses an insecure change before any step touches the host", async () => {
        const files = "/usr/local/lib/webapp/backup /etc/ssh/sshd_config.d/*.conf /etc/nginx/sites-enabled/*";
        const before = must(`sudo sha256sum ${files}`);
        const since = must("date -u +%s");
        // The staging pack config with every control mandatory, and a week of daily backups cut to three days.
        const staging = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "config", `${STACK}.json`), "utf8")) as Record<string, { enforcementLevel?: string }>;
        const strict = path.join(dir, "all-mandatory.json");
        fs.writeFileSync(strict, JSON.stringify(Object.fromEntries(Object.entries(staging).map(([k, v]) => [k, { ...v, enforcementLevel: "mandatory" }]))));
        const daily = String(parse(fs.readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), "utf8")).config["webapp:backupRetentionDailyDays"]);
        try {
            const r = await engine.run({ stack: STACK, op: "up", config: { "webapp:backupRetentionDailyDays": "3" }, policyPackConfig: strict });
            expect(r.ok).toBe(false);
            expect(policyEvents(r).filter((p) => p.enforcementLevel === "mandatory").map((p) => p.policyName)).toContain("bk-2-backup-retention");
            // The preview planned the change; the update never started.
            expect(steps(r, "preview").filter((x) => x.op === "replace").map((x) => x.name)).toContain("backups-timers");
            expect(steps(r, "update")).toEqual([]);
            expect(stepRunsSince(since)).toBe(0);
            expect(must(`sudo sha256sum ${files}`)).toBe(before);
        } finally {
            // Back to the stack's own value: the next update changes nothing.
            const back = await engine.run({ stack: STACK, op: "preview", config: { "webapp:backupRetentionDailyDays": daily }, expectNoChanges: true });
            expect(back.error).toBeUndefined();
        }
    });

    test("SEC-5: the state and the stack file hold no generated secret and no private key in plain text", () => {
        const names = must("sudo ls /etc/webapp/credentials").split("\n");
        const values = [...names.map((n) => must(`sudo cat /etc/webapp/credentials/${n}`)), fs.readFileSync(key, "utf8").trim().split("\n").slice(1, -1).join("")];
        expect(values.every((v) => v.length >= 16)).toBe(true);
        const files: string[] = [];
        const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
        walk(path.join(engine.dir, "backend"));
        walk(engine.workDir(STACK));
        const texts = files.map((f) => [f, fs.readFileSync(f, "utf8")] as const);
        expect(texts.some(([, t]) => t.includes('"ciphertext"'))).toBe(true); // the state does hold the secrets, encrypted
        expect(values.flatMap((v, i) => texts.filter(([, t]) => t.includes(v)).map(([f]) => `${names[i] ?? "ssh key"} in ${f}`))).toEqual([]);
    });

    test("SEC-4: past a rotation period, a preview replaces exactly the rotated secrets and the steps that carry them", async () => {
        const days = Number(parse(fs.readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), "utf8")).config["webapp:secretRotationDays"]);
        const r = await engine.run({ stack: STACK, op: "preview", clockOffsetDays: days });
        expect(r.error).toBeUndefined();
        const custom = steps(r).filter((x) => !x.type.startsWith("webapp:"));
        const changed = [...new Set(custom.filter((x) => x.op !== "same").map((x) => x.name))].sort();
        const replaced = [...new Set(custom.filter((x) => x.op === "replace").map((x) => x.name))].sort();
        // The two encryption key slots take turns: only the slot whose keeper changes is replaced.
        const now = rotationGeneration(new Date(), days);
        const [a, b] = [dualSlotKeepers(now), dualSlotKeepers(now + 1)];
        const slots = [...(a.a !== b.a ? ["app-encryption-key-a"] : []), ...(a.b !== b.b ? ["app-encryption-key-b"] : [])];
        const rotated = ["app-db-password", "app-app-secret-key", ...slots];
        const expected = [...rotated, "database-role", "service-0-credentials"].sort();
        expect(changed).toEqual(expected);
        expect(replaced).toEqual(expected);
        // The drift check's comparison (.github/workflows/drift.yml): at the last deploy's generation, taken from the
        // stack's own output, the same preview past the period expects no changes and gets none.
        expect(first.outputs?.secretRotationGeneration).toBe(now);
        const pinned = await engine.run({ stack: STACK, op: "preview", clockOffsetDays: days, expectNoChanges: true, env: { WEBAPP_ROTATION_GENERATION: String(first.outputs?.secretRotationGeneration) } });
        expect({ error: pinned.error, exitCode: pinned.exitCode }).toEqual({ error: undefined, exitCode: undefined });
    });

    test("after a reboot every service comes back", async () => {
        ssh("sudo systemctl reboot");
        await new Promise((r) => setTimeout(r, 10_000));
        await vm.waitForSsh();
        const deadline = Date.now() + 120_000;
        let states = "";
        while (Date.now() < deadline) {
            states = ssh("systemctl is-active nginx postgresql fail2ban ufw auditd webapp webapp-healthcheck.timer webapp-resource-alerts.timer").stdout.trim();
            if (states.split("\n").every((s) => s === "active")) break;
            await new Promise((r) => setTimeout(r, 5000));
        }
        expect(states.split("\n")).toEqual(Array(8).fill("active"));
        // The baseline holds after a boot: kernel settings, module blocks, audit rules.
        expect(must(`sudo /usr/sbin/sysctl -n ${KERNEL_HARDENING.map(([k]) => k).join(" ")}`).split("\n")).toEqual(KERNEL_HARDENING.map(([, v]) => v));
        expect(ssh("sudo modprobe dccp").status).not.toBe(0);
        expect(must("sudo auditctl -l")).toContain("-w /etc/passwd -p wa -k identity");
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

