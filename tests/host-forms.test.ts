/**
 * HOST-1, HOST-2, BK-1 and LOG-1 read APT's configuration, the kernel's settings, timer schedules and logrotate
 * blocks the way the real tools do. These tests hold the policies' reading against the tools: apt-config on a
 * private configuration directory, systemd-sysctl in private mount and network namespaces (the sysctl
 * directories on tmpfs, the net.* keys of a network namespace of its own), systemd-analyze calendar and
 * logrotate -d, for the rendered files plus one form of change each.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderAutoUpgrades } from "../lib/render/apt";
import { renderSysctl } from "../lib/render/sysctl";
import { logrotateProblems } from "../policies/app";
import { normalCalendar } from "../policies/data";
import { aptConfig, DEBIAN_SYSCTL, sysctlValue } from "../policies/parse";
import { hostFileFixtures } from "./support/policy";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-forms-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("HOST-1: the policy reads APT::Periodic as apt-config does", () => {
    const base = { "20auto-upgrades": renderAutoUpgrades() };
    const cases: [string, Record<string, string>][] = [
        ["the rendered file", base],
        ["a later file's 0", { ...base, "99-local": 'APT::Periodic::Unattended-Upgrade "0";\n' }],
        ["an earlier file's 0", { ...base, "10-local": 'APT::Periodic::Unattended-Upgrade "0";\n' }],
        ["the nested syntax", { ...base, "99-local": 'APT {\n  Periodic {\n    Update-Package-Lists "0";\n  };\n};\n' }],
        ["#clear", { ...base, "99-local": "#clear APT::Periodic::Unattended-Upgrade;\n" }],
        ["lowercase keys", { ...base, "99-local": 'apt::periodic::unattended-upgrade "0";\n' }],
        ["an ignored .bak file", { ...base, "99-local.bak": 'APT::Periodic::Unattended-Upgrade "0";\n' }],
        ["comments of both kinds", { ...base, "99-local": '// APT::Periodic::Unattended-Upgrade "0";\n/* APT::Periodic::Update-Package-Lists "0"; */\nAPT::Periodic::Enable "0";\n' }],
    ];
    test.each(cases)("%s", (_name, files) => {
        const parts = fs.mkdtempSync(path.join(dir, "apt-"));
        for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(parts, name), content);
        const main = path.join(parts, "..", `${path.basename(parts)}.conf`);
        fs.writeFileSync(main, `Dir::Etc::Parts "${parts}";\nDir::Etc::main "/dev/null";\n`);
        const res = spawnSync("apt-config", ["dump"], { encoding: "utf8", env: { ...process.env, APT_CONFIG: main } });
        expect(res.status).toBe(0);
        const keys = ["APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade", "APT::Periodic::Enable"];
        const real = Object.fromEntries(keys.map((k) => [k, new RegExp(`^${k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} "([^"]*)";$`, "m").exec(res.stdout)?.[1]]));
        const { values } = aptConfig(hostFileFixtures(Object.fromEntries(Object.entries(files).map(([n, c]) => [`/etc/apt/apt.conf.d/${n}`, c]))));
        // apt-config prints a cleared key as "" where the policy has none; both mean the job does not run.
        expect(Object.fromEntries(keys.map((k) => [k, values.get(k.toLowerCase())?.value ?? (real[k] === "" ? "" : undefined)]))).toEqual(real);
    });
});

test("HOST-2, HOST-7: Debian's stock sysctl files hold what the policy assumes for them", () => {
    for (const f of DEBIAN_SYSCTL) expect([f.path, fs.readFileSync(f.path, "utf8").split("\n").filter((l) => l && !l.startsWith("#"))]).toEqual([f.path, f.content.trim().split("\n")]);
    expect(fs.readdirSync("/usr/lib/sysctl.d").map((n) => `/usr/lib/sysctl.d/${n}`).sort()).toEqual(DEBIAN_SYSCTL.map((f) => f.path).sort());
});

describe("HOST-2: the policy reads sysctl.d as systemd-sysctl does", () => {
    const hardening = renderSysctl()
        .split("\n")
        .filter((l) => !/^[a-z]/.test(l) || /^net\.ipv[46]\./.test(l))
        .join("\n");
    const keys = ["net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.all.rp_filter", "net.ipv4.tcp_syncookies", "net.ipv4.conf.all.send_redirects"];
    const cases: [string, Record<string, string>][] = [
        ["the rendered file", { "/etc/sysctl.d/99-zz-hardening.conf": hardening }],
        ["a later file", { "/etc/sysctl.d/99-zz-hardening.conf": hardening, "/etc/sysctl.d/99-local.conf": "net.ipv4.conf.all.accept_redirects = 1\n" }],
        ["an earlier file", { "/etc/sysctl.d/99-zz-hardening.conf": hardening, "/etc/sysctl.d/10-local.conf": "net.ipv4.conf.all.accept_redirects = 1\n" }],
        ["/etc/sysctl.conf", { "/etc/sysctl.d/99-zz-hardening.conf": hardening, "/etc/sysctl.conf": "net.ipv4.tcp_syncookies=0\n" }],
        ["a slash key", { "/etc/sysctl.d/99-zz-hardening.conf": hardening, "/etc/sysctl.d/99-local.conf": "net/ipv4/conf/all/send_redirects = 1\n" }],
        ["a later glob against an explicit key", { "/etc/sysctl.d/99-zz-hardening.conf": hardening, "/etc/sysctl.d/99-local.conf": "-net.ipv4.conf.*.rp_filter = 0\n" }],
        ["a glob where no file is explicit", { "/etc/sysctl.d/99-zz-hardening.conf": hardening.replace(/^net\.ipv4\.conf\.all\.rp_filter = 1$/m, ""), "/etc/sysctl.d/99-local.conf": "net.ipv4.conf.*.rp_filter = 0\n" }],
        ["a glob with an excluded key", { "/etc/sysctl.d/99-zz-hardening.conf": hardening.replace(/^net\.ipv4\.conf\.all\.rp_filter = 1$/m, ""), "/etc/sysctl.d/99-local.conf": "net.ipv4.conf.*.rp_filter = 0\n-net.ipv4.conf.all.rp_filter\n" }],
        ["/usr/lib hidden by /etc's name, and read in name order", { "/etc/sysctl.d/99-zz-hardening.conf": hardening, "/usr/lib/sysctl.d/99-zz-hardening.conf": "net.ipv4.tcp_syncookies = 0\n", "/usr/lib/sysctl.d/99-zzz-vendor.conf": "net.ipv4.conf.all.send_redirects = 1\n" }],
    ];
    test.each(cases)("%s", (_name, files) => {
        const root = fs.mkdtempSync(path.join(dir, "sysctl-"));
        const writes = Object.entries(files).map(([p, content], i) => {
            fs.writeFileSync(path.join(root, String(i)), content);
            return `mkdir -p ${path.dirname(p)} && cp ${path.join(root, String(i))} ${p}`;
        });
        // A fresh network namespace starts from the kernel's defaults; the files decide the rest.
        const script = [
            "set -e",
            "mount -t tmpfs none /etc/sysctl.d",
            "mount -t tmpfs none /usr/lib/sysctl.d",
            "mount -t tmpfs none /run",
            "mount --bind /dev/null /etc/sysctl.conf",
            // As procps ships it on Debian: systemd-sysctl reads /etc/sysctl.conf through this link.
            "ln -s ../sysctl.conf /etc/sysctl.d/99-sysctl.conf",
            ...writes.map((w) => (w.includes(" /etc/sysctl.conf") ? w.replace(/cp (\S+) \/etc\/sysctl\.conf/, "mount --bind $1 /etc/sysctl.conf") : w)),
            "/lib/systemd/systemd-sysctl",
            `for k in ${keys.join(" ")}; do echo "$k=$(sysctl -n $k)"; done`,
        ].join("\n");
        const res = spawnSync("unshare", ["-m", "-n", "--propagation", "private", "sh", "-c", script], { encoding: "utf8" });
        expect(res.stderr).toBe("");
        expect(res.status).toBe(0);
        const real = Object.fromEntries(res.stdout.trim().split("\n").map((l) => l.split("=")));
        const defaults = Object.fromEntries(spawnSync("unshare", ["-n", "sh", "-c", `for k in ${keys.join(" ")}; do echo "$k=$(sysctl -n $k)"; done`], { encoding: "utf8" }).stdout.trim().split("\n").map((l) => l.split("=")));
        const judged = Object.fromEntries(keys.map((k) => [k, sysctlValue(hostFileFixtures(files), k)?.value ?? defaults[k]]));
        expect(judged).toEqual(real);
    });
});

describe("BK-1: the policy's normal form of a calendar expression is systemd-analyze's", () => {
    const expressions = ["*-*-* 02:00:00", "02:00", "2:00", "Sun 03:00", "sunday 03:00", "Sun *-*-* 03:00:00", "daily", "weekly", "hourly", "minutely", "*-*-* 03:00", "*:*:00", "*:00", "*-*-* *:0"];
    test.each(expressions)("%s", (expression) => {
        const res = spawnSync("systemd-analyze", ["calendar", expression], { encoding: "utf8" });
        expect(res.status).toBe(0);
        const normal = /Normalized form: (.*)$/m.exec(res.stdout)?.[1];
        expect(normalCalendar(expression)).toBe(normal);
    });
});

describe("LOG-1: the policy reads a logrotate block's frequency and count as logrotate -d does", () => {
    const bodies: [string, string][] = [
        ["the rendered directives", "daily\nrotate 30\ncompress"],
        ["weekly after daily", "daily\nrotate 30\nweekly"],
        ["daily after weekly", "weekly\ndaily\nrotate 30"],
        ["size after daily", "daily\nrotate 30\nsize 100M"],
        ["a short rotate after a long one", "daily\nrotate 30\nrotate 7"],
        ["the word weekly inside postrotate", "daily\nrotate 30\npostrotate\n    echo weekly\nendscript"],
    ];
    test.each(bodies)("%s", (_name, body) => {
        const logs = fs.mkdtempSync(path.join(dir, "logrotate-"));
        fs.writeFileSync(path.join(logs, "app.log"), "line\n");
        const conf = path.join(logs, "conf");
        fs.writeFileSync(conf, `${path.join(logs, "app.log")} {\n${body}\n}\n`);
        const res = spawnSync("logrotate", ["-d", "-s", path.join(logs, "state"), conf], { encoding: "utf8" });
        expect(res.status).toBe(0);
        const m = /rotating pattern: \S+\s+(.*) \((\d+) rotations\)/.exec(res.stderr)!;
        const real = { daily: m[1] === "after 1 days", enough: Number(m[2]) >= 30 };
        const problems = logrotateProblems(body, 30);
        expect({ daily: !problems.some((p) => /not daily/.test(p)), enough: !problems.some((p) => /keeps less than/.test(p)) }).toEqual(real);
    });
});
