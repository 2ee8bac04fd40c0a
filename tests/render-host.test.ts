/**
 * Every file the host steps write, proven by the program that reads it: systemd-analyze, fail2ban-regex and
 * fail2ban-client, logrotate, apt-config, sysctl (in a private network namespace), ufw (in private mount and
 * network namespaces), shellcheck; and the apply script itself run for real.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PRIVATE_NETWORK_DROPIN } from "../components/database";
import { DEBIAN_NGINX_TEST, NGINX_PRIVATE_ADDRESS_DROPIN } from "../components/reverse-proxy";
import { renderApplyScript } from "../lib/render/apply-script";
import { renderAutoUpgrades, renderUnattendedUpgrades } from "../lib/render/apt";
import { bootstrapCertificate, issueCertificate, renderDeployHook } from "../lib/render/certbot";
import { bannedMapFile, renderAppFilter, renderAppJail, renderSshdJail } from "../lib/render/fail2ban";
import { DEFAULT_LOG_FILES, renderLogrotate } from "../lib/render/logrotate";
import { renderAlertScript, renderAlertUnits } from "../lib/render/monitoring";
import { renderSysctl, SYSCTL_HARDENING } from "../lib/render/sysctl";
import { healthCheckScriptPath, renderAppUnit, renderHealthCheckScript, renderHealthCheckService, renderHealthCheckTimer, renderPrivateAddressDropIn } from "../lib/render/systemd";
import { renderUfwRules, UFW_APPLY, UFW_RULES_PATH } from "../lib/render/ufw";
import { run } from "./helpers";
import { unitRoot, verifyUnits } from "./support/systemd";

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const tmp = (name: string, content: string, mode = 0o644) => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    return file;
};

function shellcheck(name: string, script: string) {
    const res = run("shellcheck", ["--shell=bash", "--severity=style", tmp(name, script)]);
    expect({ status: res.status, findings: res.stdout }).toEqual({ status: 0, findings: "" });
}

describe("the apply script", () => {
    const target = () => path.join(dir, "apply", "etc", "demo.conf");
    const script = (content: string, validate: string[] = [`echo validated >> ${path.join(dir, "apply", "validations")}`]) =>
        renderApplyScript({
            name: "demo",
            files: [{ path: target(), content, mode: "0640" }],
            validate,
            activate: [`echo activated >> ${path.join(dir, "apply", "activations")}`],
        });

    test("passes shellcheck", () => shellcheck("apply-demo.sh", script("a = 1\n", ["grep -q '^a = ' " + target()])));

    test("writes once, then changes nothing and activates nothing", () => {
        const first = run("bash", ["-s"], { input: script("a = 1\n") });
        expect(first.status).toBe(0);
        expect(first.stdout).toMatch(/\[demo\] changed .*demo\.conf\n\[demo\] result: changed/);
        expect(fs.readFileSync(target(), "utf8")).toBe("a = 1\n");
        expect((fs.statSync(target()).mode & 0o777).toString(8)).toBe("640");
        const second = run("bash", ["-s"], { input: script("a = 1\n") });
        expect(second.stdout).toMatch(/\[demo\] unchanged .*\n\[demo\] result: unchanged/);
        expect(fs.readFileSync(path.join(dir, "apply", "activations"), "utf8")).toBe("activated\n");
        // The unchanged rerun skips the validation too.
        expect(fs.readFileSync(path.join(dir, "apply", "validations"), "utf8")).toBe("validated\n");
    });

    test("a file that fails validation is rolled back and the run fails", () => {
        const res = run("bash", ["-s"], { input: script("broken\n", [`grep -q '^a = ' ${target()}`]) });
        expect(res.status).toBe(1);
        expect(res.stdout).toMatch(/validation failed; keeping the previous configuration\n\[demo\] restored /);
        expect(fs.readFileSync(target(), "utf8")).toBe("a = 1\n");
        expect(fs.readdirSync(path.dirname(target()))).toEqual(["demo.conf"]);
    });

    test("every validation command counts, not only the last one", () => {
        const res = run("bash", ["-s"], { input: script("a = 2\n", ["false", "true"]) });
        expect(res.status).toBe(1);
        expect(fs.readFileSync(target(), "utf8")).toBe("a = 1\n");
    });

    test("a new file that fails validation is removed", () => {
        const other = path.join(dir, "apply", "etc", "new.conf");
        const res = run("bash", ["-s"], { input: renderApplyScript({ name: "demo", files: [{ path: other, content: "x" }], validate: ["false"] }) });
        expect(res.status).toBe(1);
        expect(fs.existsSync(other)).toBe(false);
    });

    test("unsafe paths and owners are refused before anything is rendered", () => {
        expect(() => renderApplyScript({ name: "x", files: [{ path: "/etc/a b", content: "" }] })).toThrow(/unsafe file path/);
        expect(() => renderApplyScript({ name: "x", files: [{ path: "/etc/a", content: "", owner: "root; rm -rf /" }] })).toThrow(/owner must be user:group/);
    });
});

describe("systemd units (SVC-1..6)", () => {
    const unit = renderAppUnit({
        appName: "webapp",
        execStart: "/opt/webapp/venv/bin/gunicorn --bind 127.0.0.1:8000 app:app",
        port: 8000,
        credentials: ["db-password", "app-secret-key", "encryption-key"],
        after: ["postgresql.service"],
        writablePaths: ["/var/lib/webapp/uploads"],
    });
    const hc = { appName: "webapp", port: 8000, path: "/health" };

    const executables = ["/opt/webapp/venv/bin/gunicorn", healthCheckScriptPath("webapp")];
    const verify = (root: string, names: string[]) => verifyUnits(root, names);
    const root = (units: Record<string, string>) => unitRoot(dir, units, executables);

    test("systemd-analyze verify accepts the app unit, the health check service and its timer", () => {
        const units = { "webapp.service": unit, "webapp-healthcheck.service": renderHealthCheckService(hc), "webapp-healthcheck.timer": renderHealthCheckTimer(hc) };
        const res = verify(root(units), Object.keys(units));
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
    });

    test("systemd-analyze verify fails on a missing binary and warns on an unknown setting, so the check can fail", () => {
        const r = root({ "webapp.service": unit.replace("/opt/webapp/venv/bin/gunicorn", "/opt/webapp/missing"), "typo.service": unit.replace("PrivateTmp=yes", "PrivateTemp=yes") });
        expect(verify(r, ["webapp.service"]).status).not.toBe(0);
        expect(verify(r, ["typo.service"]).stderr).toMatch(/Unknown key '?PrivateTemp'? in section \[Service\]/);
    });

    test("fleet: nginx and PostgreSQL wait for their private address; systemd-analyze verify accepts the drop-ins on Debian's units", () => {
        const r = unitRoot(dir, {}, ["/usr/sbin/nginx", "/bin/sh", "/usr/bin/pg_ctlcluster"]);
        for (const [unit, dropIn] of [["nginx.service", NGINX_PRIVATE_ADDRESS_DROPIN], ["postgresql@15-main.service", PRIVATE_NETWORK_DROPIN]]) {
            const file = path.join(r, dropIn);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const content = renderPrivateAddressDropIn(unit, "10.0.0.10", { before: unit === "nginx.service" ? [DEBIAN_NGINX_TEST] : [] });
            fs.writeFileSync(file, content);
            const res = run("systemd-analyze", ["verify", `--root=${r}`, unit]);
            expect({ unit, status: res.status, stderr: res.stderr }).toEqual({ unit, status: 0, stderr: "" });
        }
        // nginx: the wait comes before Debian's own `nginx -t` (which binds the listeners), which the drop-in keeps.
        const nginx = fs.readFileSync("/lib/systemd/system/nginx.service", "utf8");
        expect(nginx).toContain(`ExecStartPre=${DEBIAN_NGINX_TEST}\n`);
        const pre = fs.readFileSync(path.join(r, NGINX_PRIVATE_ADDRESS_DROPIN), "utf8").split("\n").filter((l) => l.startsWith("ExecStartPre="));
        expect(pre.map((l) => l.slice(0, 30))).toEqual(["ExecStartPre=", "ExecStartPre=/bin/sh -c \"for i", `ExecStartPre=${DEBIAN_NGINX_TEST}`.slice(0, 30)]);
    });

    test("fleet: the wait ends when the address appears (in a network namespace of its own), and fails after its time without it", () => {
        // systemd passes `$$` to the command as `$`.
        const command = (address: string, seconds: number) => /^ExecStartPre=\/bin\/sh -c "(.*)"$/m.exec(renderPrivateAddressDropIn("nginx", address, { waitSeconds: seconds }))![1].replace(/\$\$/g, "$");
        const quoted = (address: string, seconds: number) => `sh -c '${command(address, seconds).replace(/'/g, "'\\''")}'`;
        const late = run("unshare", ["-n", "bash", "-c", ["(sleep 2; ip addr add 10.9.9.10/24 dev lo) &", "started=$SECONDS", quoted("10.9.9.10", 10), 'echo "rc=$? after $((SECONDS - started)) s"'].join("\n")]);
        expect(late.stdout.trim()).toMatch(/^rc=0 after [23] s$/);
        const never = run("unshare", ["-n", "sh", "-c", command("10.9.9.11", 2)]);
        expect(never.status).toBe(1);
        expect(never.stderr).toBe("10.9.9.11 is not configured on any interface\n");
        // Another address with the same prefix does not count.
        const prefix = run("unshare", ["-n", "bash", "-c", ["ip addr add 10.9.9.100/24 dev lo", quoted("10.9.9.10", 1)].join("\n")]);
        expect(prefix.status).toBe(1);
    });

    test("the sandbox rates OK in systemd-analyze security", () => {
        const file = tmp("security/webapp.service", unit);
        const res = run("systemd-analyze", ["security", "--offline=true", "--threshold=25", file]);
        const exposure = Number(/Overall exposure level for webapp\.service: ([\d.]+)/.exec(res.stdout)?.[1]);
        expect(exposure).toBeLessThanOrEqual(2);
    });

    test("runs as its own user with the hardening of SVC-2 and production mode (SVC-5)", () => {
        for (const line of [
            "User=webapp", "Group=webapp", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
            "PrivateDevices=yes", "CapabilityBoundingSet=", "Restart=on-failure", "RestartSec=5s",
            "ReadWritePaths=/var/lib/webapp /var/log/webapp /var/lib/webapp/uploads",
            'Environment="FLASK_ENV=production"', 'Environment="NODE_ENV=production"', 'Environment="LOG_LEVEL=INFO"', 'Environment="BIND=127.0.0.1:8000"',
        ]) expect(unit.split("\n")).toContain(line);
    });

    test("secrets arrive as credentials, never as Environment= (SVC-4)", () => {
        expect(unit).toContain("LoadCredential=db-password:/etc/webapp/credentials/db-password");
        expect(unit).not.toMatch(/EnvironmentFile|\.env\b/);
        expect(() => renderAppUnit({ appName: "webapp", execStart: "/bin/app", port: 8000, credentials: [], environment: { DATABASE_PASSWORD: "x" } })).toThrow(
            /DATABASE_PASSWORD looks like a secret; pass it as a credential/,
        );
    });

    test("the health check script passes shellcheck and restarts the app on failure", () => {
        const script = renderHealthCheckScript(hc);
        shellcheck("healthcheck", script);
        // Run it against a port nobody listens on, with systemctl replaced by a recorder.
        const bin = fs.mkdtempSync(path.join(dir, "bin-"));
        fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\necho "$@" > ${bin}/called\n`, { mode: 0o755 });
        const res = run("bash", ["-s"], { input: renderHealthCheckScript({ ...hc, port: 1 }), env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        expect(res.status).toBe(1);
        expect(res.stderr).toBe("health check of webapp.service failed (http://127.0.0.1:1/health: no answer); restarting it\n");
        expect(fs.readFileSync(path.join(bin, "called"), "utf8")).toBe("restart webapp.service\n");
    });
});

describe("fail2ban (SSH-4, LOG-2)", () => {
    const lines = [
        "2026-11-20 10:00:01 WARNING SECURITY[LOGIN_FAILED]: user=thomas ip=203.0.113.5",
        "2026-11-20 10:00:02,123 SECURITY[2FA_FAILED]: user=thomas ip=203.0.113.6 ua=Mozilla",
        "2026-11-20 10:00:03 SECURITY[LOCKOUT]: user=anna ip=2001:db8::7",
        "2026-11-20 10:00:04 SECURITY[LOGIN_SUCCESS]: user=thomas ip=203.0.113.8",
        "2026-11-20 10:00:05 SECURITY[LOGOUT]: user=thomas ip=203.0.113.9",
        "2026-11-20 10:00:06 INFO GET /login 200 ip=203.0.113.10",
    ];

    test("the filter matches the three failure lines and nothing else", () => {
        const log = tmp("f2b/app.log", lines.join("\n") + "\n");
        const res = run("fail2ban-regex", ["--print-all-matched", log, tmp("f2b/filter.conf", renderAppFilter())]);
        expect(res.status).toBe(0);
        expect(res.stdout).toMatch(/Lines: 6 lines, 0 ignored, 3 matched, 3 missed/);
        const matched = /\|- Matched line\(s\):\n([\s\S]*?)`-/.exec(res.stdout)?.[1] ?? "";
        expect(matched.split("\n").filter(Boolean).map((l) => l.replace(/^\|\s+/, ""))).toEqual(lines.slice(0, 3));
    });

    test("gunicorn's line format counts; a client cannot get another address banned", () => {
        const gunicorn = "[2026-11-20 10:00:09 +0000] [4711] [WARNING] SECURITY[LOGIN_FAILED]: user=bob ip=203.0.113.13";
        const injected = [
            // A user name carrying a second address.
            "2026-11-20 10:00:07 WARNING SECURITY[LOGIN_FAILED]: user=a ip=192.0.2.66 ip=203.0.113.11",
            // A fake audit line in a request logged by the app.
            "2026-11-20 10:00:08 INFO ip=203.0.113.12 GET /login?x=SECURITY[LOGIN_FAILED]: user=a ip=192.0.2.67",
            "2026-11-20 10:00:11 INFO GET /login?next=SECURITY[LOCKOUT]: user=a ip=192.0.2.69",
            // A fake failure inside a success line's user name.
            "2026-11-20 10:00:10 INFO SECURITY[LOGIN_SUCCESS]: user=x SECURITY[LOGIN_FAILED]: user=a ip=192.0.2.68",
        ];
        const log = tmp("f2b/injected.log", [gunicorn, ...injected].join("\n") + "\n");
        const res = run("fail2ban-regex", ["-v", log, tmp("f2b/filter.conf", renderAppFilter())]);
        expect(res.status).toBe(0);
        expect(res.stdout).toMatch(/Lines: 5 lines, 0 ignored, 1 matched, 4 missed/);
        // -v lists each match's address and time: only the real client of the gunicorn line.
        expect([...res.stdout.matchAll(/^\|\s+(\S+)\s+\w{3} \w{3} \d+ [\d:]+ \d{4}$/gm)].map((m) => m[1])).toEqual(["203.0.113.13"]);
        expect(res.stdout).toMatch(/203\.0\.113\.13\s+Fri Nov 20 10:00:09 2026/);
    });

    test("fail2ban-client accepts the jails with Debian's configuration", () => {
        const conf = path.join(dir, "f2b-conf");
        expect(run("cp", ["-a", "/etc/fail2ban", conf]).status).toBe(0);
        const log = tmp("f2b/webapp.log", "");
        fs.writeFileSync(path.join(conf, "jail.d", "sshd.local"), renderSshdJail({ appName: "webapp", appLogFiles: [log], sshPort: 2222 }));
        fs.writeFileSync(path.join(conf, "jail.d", "webapp.local"), renderAppJail({ appName: "webapp", appLogFiles: [log] }));
        fs.writeFileSync(path.join(conf, "filter.d", "webapp.conf"), renderAppFilter());
        const res = run("fail2ban-client", ["-c", conf, "--test"]);
        expect(res.stdout + res.stderr).toMatch(/OK: configuration test is successful/);
        const dump = run("fail2ban-client", ["-c", conf, "-d"]).stdout;
        expect(dump).toMatch(/\['add', 'sshd', 'systemd'\]/);
        expect(dump).toMatch(/\['set', 'webapp', 'maxretry', 5\]/);
        expect(dump).toMatch(/\['set', 'webapp', 'findtime', '600'\]/);
        expect(dump).toMatch(/\['set', 'webapp', 'bantime', '3600'\]/);
        expect(dump).toMatch(/\['set', 'sshd', 'bantime', '3600'\]/);
        expect(dump).toMatch(/\['set', 'sshd', 'maxretry', 5\]/);
        // On its own the jail bans with Debian's default action, in the firewall.
        expect(dump).toMatch(/\['set', 'webapp', 'addaction', 'iptables-multiport'\]/);
    });

    test("behind the load balancer the app jail bans in nginx: fail2ban loads nginx-block-map on the app's ban list, no firewall action", () => {
        const conf = path.join(dir, "f2b-conf-lb");
        expect(run("cp", ["-a", "/etc/fail2ban", conf]).status).toBe(0);
        const log = tmp("f2b/webapp-lb.log", "");
        fs.writeFileSync(path.join(conf, "jail.d", "sshd.local"), renderSshdJail({ appName: "webapp", appLogFiles: [log] }));
        fs.writeFileSync(path.join(conf, "jail.d", "webapp.local"), renderAppJail({ appName: "webapp", appLogFiles: [log], banIn: "nginx" }));
        fs.writeFileSync(path.join(conf, "filter.d", "webapp.conf"), renderAppFilter());
        const check = run("fail2ban-client", ["-c", conf, "--test"]);
        expect(check.stdout + check.stderr).toMatch(/OK: configuration test is successful/);
        const dump = run("fail2ban-client", ["-c", conf, "-d"]).stdout;
        const actions = [...dump.matchAll(/\['set', 'webapp', 'addaction', '([^']+)'\]/g)].map((m) => m[1]);
        expect(actions).toEqual(["nginx-block-map"]);
        // The ban appends the address (fail2ban's <fid>) to the file the site's map includes, then reloads nginx if
        // `nginx -t` passes.
        const ban = dump.match(/\['multi-set', 'webapp', 'action', 'nginx-block-map', .*?\['actionban', (.*?)\], \['actionunban'/)?.[1] ?? "";
        expect(ban).toContain(`"<fid>" >> \\'${bannedMapFile("webapp")}\\'`);
        expect(ban).toMatch(/nginx -qt; if \[ \$\? -eq 0 \]; then\\nnginx -s reload/);
        expect(dump).toContain(`['blck_lst_file', '${bannedMapFile("webapp")}']`);
    });
});

describe("logrotate (LOG-1)", () => {
    test("logrotate -d accepts it: daily, 30 and 90 days, compressed, created 0640 for the app user", () => {
        // As systemd's LogsDirectory= makes it: owned by the app user. www-data stands in for the app user,
        // which does not exist on the test machine.
        const logs = fs.mkdtempSync(path.join(dir, "logs-"));
        fs.chmodSync(dir, 0o755);
        for (const f of DEFAULT_LOG_FILES) fs.writeFileSync(path.join(logs, f.name), "line\n");
        expect(run("chown", ["-R", "www-data:www-data", logs]).status).toBe(0);
        const conf = tmp("logrotate.conf", renderLogrotate({ appName: "www-data", directory: logs }));
        const res = run("logrotate", ["-d", "-s", path.join(dir, "logrotate.state"), conf]);
        expect(res.status).toBe(0);
        expect(res.stderr).not.toMatch(/^error:/m);
        expect(res.stderr).toMatch(/rotating pattern: .*app\.log .*access\.log\s+after 1 days \(30 rotations\)/);
        expect(res.stderr).toMatch(/rotating pattern: .*error\.log\s+after 1 days \(90 rotations\)/);
        const text = fs.readFileSync(conf, "utf8");
        expect(text).toMatch(/compress\n/);
        expect(text).toContain("create 0640 www-data www-data");
    });
});

describe("unattended upgrades (HOST-1)", () => {
    test("apt-config reads both files with the intended values", () => {
        const main = tmp("apt/20auto-upgrades", renderAutoUpgrades());
        const local = tmp("apt/52unattended-upgrades-local", renderUnattendedUpgrades());
        const res = run("apt-config", ["-c", main, "-c", local, "dump"]);
        expect(res.status).toBe(0);
        expect(res.stdout).toContain('APT::Periodic::Unattended-Upgrade "1";');
        expect(res.stdout).toContain('APT::Periodic::Update-Package-Lists "1";');
        expect(res.stdout).toContain('Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";');
        expect(res.stdout).toContain('Unattended-Upgrade::Automatic-Reboot "false";');
    });
});

describe("sysctl hardening (HOST-2)", () => {
    test("the network settings apply in a fresh network namespace and read back", () => {
        const netOnly = tmp("sysctl-net.conf", renderSysctl().split("\n").filter((l) => !/^[a-z]/.test(l) || /^net\.ipv[46]\./.test(l)).join("\n"));
        const keys = SYSCTL_HARDENING.filter(([k]) => k.startsWith("net."));
        const res = run("unshare", ["--net", "sh", "-c", `sysctl -q -p ${netOnly} && sysctl -n ${keys.map(([k]) => k).join(" ")}`]);
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout.trim().split("\n")).toEqual(keys.map(([, v]) => v));
    });

    test("every other key exists on this kernel, so sysctl --system will not stop on it", () => {
        for (const [key] of SYSCTL_HARDENING.filter(([k]) => !k.startsWith("net."))) {
            expect({ key, exists: fs.existsSync(`/proc/sys/${key.replace(/\./g, "/")}`) }).toEqual({ key, exists: true });
        }
    });
});

describe("ufw (NET-1, NET-3)", () => {
    const rules = renderUfwRules({ sshPort: 2222, adminCidrs: ["198.51.100.14/32", "2001:db8:100::/48"] });
    const script = renderApplyScript({ name: "firewall", files: [{ path: UFW_RULES_PATH, content: rules }], ensure: [...UFW_APPLY] });

    test("the apply script passes shellcheck", () => shellcheck("ufw-apply.sh", script));

    test("applied in private namespaces: default deny, only 80/443 and SSH from the admin networks; a rerun changes nothing", () => {
        const etc = fs.mkdtempSync(path.join(dir, "etc-ufw-"));
        const lib = fs.mkdtempSync(path.join(dir, "lib-ufw-"));
        expect(run("cp", ["-a", "/etc/ufw/.", etc]).status).toBe(0);
        const scriptFile = tmp("ufw-apply-run.sh", script);
        const res = run("unshare", ["--mount", "--net", "bash", "-c",
            `set -e; mount --bind ${etc} /etc/ufw; mkdir -p /var/lib/ufw; mount --bind ${lib} /var/lib/ufw; ` +
            `bash ${scriptFile}; echo @@@; ufw status verbose; echo @@@; bash ${scriptFile}; ` +
            // A rule added by hand: the next run notices it (ufw show added) and brings ufw back to the file.
            `ufw allow 5432 >/dev/null; echo @@@; bash ${scriptFile}; echo @@@; ufw status verbose`]);
        expect(res.stderr).toBe("");
        expect(res.status).toBe(0);
        const [first, status, second, third, repaired] = res.stdout.split("@@@\n");
        expect(third).toMatch(/ufw rules applied/);
        expect(repaired).not.toMatch(/5432/);
        expect(repaired.split("\n").filter((l) => /ALLOW IN/.test(l))).toHaveLength(6);
        expect(first).toMatch(/ufw rules applied\n.*result: changed/);
        expect(status).toMatch(/Status: active/);
        // Routed traffic is denied; ufw shows it as "disabled" while the kernel does not forward at all.
        expect(status).toMatch(/Default: deny \(incoming\), allow \(outgoing\), (deny|disabled) \(routed\)/);
        const ruleLines = status.split("\n").filter((l) => /ALLOW IN/.test(l)).map((l) => l.replace(/\s+/g, " ").trim());
        expect(ruleLines).toEqual([
            "80/tcp ALLOW IN Anywhere",
            "443/tcp ALLOW IN Anywhere",
            "2222/tcp ALLOW IN 198.51.100.14",
            "80/tcp (v6) ALLOW IN Anywhere (v6)",
            "443/tcp (v6) ALLOW IN Anywhere (v6)",
            "2222/tcp ALLOW IN 2001:db8:100::/48",
        ]);
        expect(second).toMatch(/unchanged .*pulumi-rules\n.*result: unchanged/);
        expect(second).not.toMatch(/ufw rules applied/);
    });
});

describe("certificates (TLS-5)", () => {
    const le = { appName: "webapp", domains: ["app.example.com", "www.app.example.com"], mode: "letsencrypt" as const, email: "ops@example.com" };

    test("staging asks the Let's Encrypt staging CA, prod the production CA", () => {
        expect(issueCertificate({ ...le, staging: true })[0]).toMatch(/ '--staging'$/);
        expect(issueCertificate(le)[0]).not.toContain("--staging");
        expect(issueCertificate(le)[0]).toContain("'--keep-until-expiring' '--expand' '--deploy-hook' '/usr/local/lib/webapp/certbot-deploy-hook' '-d' 'app.example.com' '-d' 'www.app.example.com'");
        expect(issueCertificate({ ...le, mode: "self-signed" })).toEqual([]);
    });

    test("the deploy hook and the certificate steps pass shellcheck", () => {
        shellcheck("deploy-hook", renderDeployHook(le));
        shellcheck("cert-steps.sh", renderApplyScript({ name: "tls", files: [], prepare: bootstrapCertificate(le), ensure: issueCertificate(le) }));
    });

    test("the bootstrap certificate is made once, for every name", () => {
        const root = fs.mkdtempSync(path.join(dir, "tls-"));
        const steps = renderApplyScript({ name: "tls", files: [], prepare: bootstrapCertificate({ ...le, appName: "webapp" }).map((l) => l.replace(/\/etc\/webapp\/tls/g, root + "/tls")) });
        expect(run("bash", ["-s"], { input: steps }).stdout).toMatch(/self-signed certificate created/);
        expect(run("bash", ["-s"], { input: steps }).stdout).not.toMatch(/self-signed certificate created/);
        const text = run("openssl", ["x509", "-in", path.join(root, "tls", "fullchain.pem"), "-noout", "-ext", "subjectAltName"]).stdout;
        expect(text).toMatch(/DNS:app\.example\.com, DNS:www\.app\.example\.com/);
        expect((fs.statSync(path.join(root, "tls", "privkey.pem")).mode & 0o777).toString(8)).toBe("600");
    });

    test("self-signed: an expired certificate (a test CA's, a year past) is replaced and nginx reloads; a Let's Encrypt one is left to certbot", () => {
        for (const mode of ["self-signed", "letsencrypt"] as const) {
            const root = fs.mkdtempSync(path.join(dir, `tls-expired-${mode}-`));
            fs.mkdirSync(path.join(root, "tls"));
            const expired = run("faketime", ["-f", "-400d", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj", "/CN=webapp test CA", "-keyout", path.join(root, "tls", "privkey.pem"), "-out", path.join(root, "tls", "fullchain.pem")]);
            expect(expired.status).toBe(0);
            const steps = renderApplyScript({ name: "tls", files: [], prepare: bootstrapCertificate({ ...le, mode }).map((l) => l.replace(/\/etc\/webapp\/tls/g, root + "/tls")), activate: ["echo reloading nginx"] });
            const out = run("bash", ["-s"], { input: steps }).stdout;
            const valid = run("openssl", ["x509", "-in", path.join(root, "tls", "fullchain.pem"), "-noout", "-checkend", "86400"]).status === 0;
            expect({ mode, created: /self-signed certificate created/.test(out), reloaded: /reloading nginx/.test(out), valid }).toEqual({ mode, created: mode === "self-signed", reloaded: mode === "self-signed", valid: mode === "self-signed" });
        }
    });
});

describe("resource alerts (MON-1)", () => {
    const script = renderAlertScript({ appName: "webapp" });
    const units = renderAlertUnits({ appName: "webapp" });

    /** A fake /proc and df output, and a state directory the script keeps between runs. */
    function machine(name: string) {
        const root = fs.mkdtempSync(path.join(dir, `mon-${name}-`));
        fs.mkdirSync(path.join(root, "proc"));
        const set = (o: { cpu?: [number, number]; memUsedPercent?: number; disk?: number; errors?: number }) => {
            if (o.cpu) fs.writeFileSync(path.join(root, "proc", "stat"), `cpu  ${o.cpu[0]} 0 0 ${o.cpu[1]} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n`);
            if (o.memUsedPercent !== undefined) fs.writeFileSync(path.join(root, "proc", "meminfo"), `MemTotal:       1000000 kB\nMemFree:         1000 kB\nMemAvailable:   ${1000000 - o.memUsedPercent * 10000} kB\n`);
            if (o.disk !== undefined) fs.writeFileSync(path.join(root, "df"), `Use% Mounted on\n 40% /\n ${o.disk}% /var/lib/postgresql\n`);
            if (o.errors !== undefined) fs.appendFileSync(path.join(root, "error.log"), Array.from({ length: o.errors }, (_, i) => `2026-11-23 10:00:${i} ERROR boom\n`).join("") + "2026-11-23 10:01:00 INFO fine\n");
        };
        const tick = () =>
            run("bash", ["-s"], { input: script, env: { ...process.env, PROC_ROOT: path.join(root, "proc"), ALERT_STATE_DIR: path.join(root, "state"), ALERT_DF_FILE: path.join(root, "df"), APP_ERROR_LOG: path.join(root, "error.log") } });
        return { set, tick };
    }

    test("passes shellcheck; systemd-analyze verify accepts the service and its every-minute timer", () => {
        shellcheck("resource-alerts", script);
        const res = verifyUnits(unitRoot(dir, units, ["/usr/local/lib/webapp/resource-alerts"]), Object.keys(units));
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(units["webapp-resource-alerts.timer"]).toContain("OnUnitActiveSec=1min");
    });

    test("a quiet machine raises nothing", () => {
        const m = machine("quiet");
        m.set({ cpu: [1000, 9000], memUsedPercent: 50, disk: 50, errors: 0 });
        expect(m.tick().status).toBe(0);
        m.set({ cpu: [1300, 9700], errors: 2 });
        const res = m.tick();
        expect(res.status).toBe(0);
        expect(res.stdout).toMatch(/^ok: cpu history 30%, memory 50%, errors 2\/min/);
    });

    test("CPU above 80 % for five minutes alerts, four minutes do not", () => {
        const m = machine("cpu");
        m.set({ memUsedPercent: 10, disk: 10, errors: 0 });
        let busy = 0;
        let idle = 0;
        const minute = (pct: number) => {
            busy += pct;
            idle += 100 - pct;
            m.set({ cpu: [busy, idle] });
            return m.tick();
        };
        minute(0);
        for (let i = 0; i < 4; i++) expect(minute(95).status).toBe(0);
        const fifth = minute(95);
        expect(fifth.status).toBe(1);
        expect(fifth.stdout).toContain("ALERT: CPU above 80% for 5 minutes (95,95,95,95,95%)");
        expect(minute(50).status).toBe(0);
    });

    test("memory, disk and app errors over their limits alert", () => {
        const m = machine("all");
        m.set({ cpu: [1, 1], memUsedPercent: 95, disk: 90, errors: 11 });
        const res = m.tick();
        expect(res.status).toBe(1);
        expect(res.stdout).toContain("ALERT: memory 95% used (limit 90%)");
        expect(res.stdout).toContain("ALERT: disk /var/lib/postgresql 90% full (limit 85%)");
        expect(res.stdout).toContain("ALERT: 11 app errors in the last minute (limit 10)");
        m.set({ memUsedPercent: 90, disk: 85, errors: 10 });
        expect(m.tick().status).toBe(0);
    });
});
